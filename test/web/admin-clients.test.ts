import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { first } from "../../src/db/transaction.ts";
import { eq, sql } from "drizzle-orm";
import { openSession } from "../../src/accounts/sessions.ts";
import { createUser } from "../../src/accounts/users.ts";
import { upsertClient } from "../../src/oauth/clients-store.ts";
import { insertPendingRequest } from "../../src/oauth/pending-requests-store.ts";
import { approveAuthorization } from "../../src/oauth/authorizations.ts";
import { registerManualClient } from "../../src/oauth/registration.ts";
import { parseCredential, randomString } from "../../src/security/tokens.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { nowSeconds } from "../support/clock.ts";
import { confirmationForm, confirmVia } from "../support/confirm-page.ts";
import { selectSql } from "../support/sql.ts";

const password = "correct horse battery staple";
const secretPattern = /gate_cs_[a-z2-7]{16}_[a-z2-7]{52}/;
const clientIdPattern = /gate_client_[a-z2-7]{16}/;

let app: TestApp;
let admin: { id: string; b: Browser };
let member: { id: string; b: Browser };
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  admin = await signedInUser("admin@example.com", true);
  member = await signedInUser("member@example.com", false);
});
afterAll(() => app.close());

async function signedInUser(email: string, isAdmin: boolean) {
  const user = await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin,
    now: nowSeconds(),
  });
  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  expect((await b.post("/sign-in", { csrf, email, password })).status).toBe(303);
  return { id: user.id, b };
}

/** The form token of a signed-in browser, from a page every user can open. */
const csrfOf = async (b: Browser) => Browser.csrfOf(await (await b.get("/keys")).text());
async function rowOf(id: string) {
  const { oauthClients } = app.db.tables;
  return first(await app.db.select().from(oauthClients).where(eq(oauthClients.id, id)).limit(1));
}
async function rowCount() {
  const { oauthClients } = app.db.tables;
  return (await app.db.select().from(oauthClients)).length;
}
const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");
const errorOf = (html: string) => /<p class="error" role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1] ?? "";

/** Adds a client through the form; a public one is redirected to its page, which this follows. */
async function addClient(b: Browser, form: Record<string, string>) {
  const res = await b.post("/admin/clients", { csrf: await csrfOf(b), ...form });
  const location = res.headers.get("location");
  const html = res.status === 303 && location ? await (await b.get(location)).text() : await res.text();
  return {
    res,
    html,
    clientId: clientIdPattern.exec(html)?.[0] ?? null,
    secret: secretPattern.exec(html)?.[0] ?? null,
  };
}

describe("access", () => {
  test("signed out is redirected to sign-in with next", async () => {
    const res = await new Browser(app.url, app.send).get("/admin/clients");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/sign-in?next=${encodeURIComponent("/admin/clients")}`);
  });

  test("a non-admin gets 403", async () => {
    expect((await member.b.get("/admin/clients")).status).toBe(403);
  });

  test("a non-admin's form post is 403 and stores nothing", async () => {
    const before = await rowCount();
    const { res } = await addClient(member.b, { name: "sneaky", redirect_uris: "https://x.example/cb", type: "none" });
    expect(res.status).toBe(403);
    expect(await rowCount()).toBe(before);
  });

  test("a signed-out form post is 401", async () => {
    const b = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    expect(
      (await b.post("/admin/clients", { csrf, name: "x", redirect_uris: "https://x.example/cb", type: "none" })).status,
    ).toBe(401);
  });

  test("an admin sees the page, sent with Cache-Control: no-store", async () => {
    const res = await admin.b.get("/admin/clients");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("the header links to Clients for admins only", async () => {
    expect(await (await admin.b.get("/keys")).text()).toContain('href="/admin/clients"');
    expect(await (await member.b.get("/keys")).text()).not.toContain('href="/admin/clients"');
  });
});

describe("the list", () => {
  test("shows a self-registered client's name, id and redirect URI", async () => {
    const res = await app.request("/oauth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_name: "Listed DCR",
        redirect_uris: ["cursor://anysphere.cursor-mcp/oauth/callback"],
      }),
    });
    const { client_id } = (await res.json()) as { client_id: string };
    const html = await (await admin.b.get("/admin/clients")).text();
    expect(html).toContain(client_id);
    expect(html).toContain("Listed DCR");
    expect(html).toContain("cursor://anysphere.cursor-mcp/oauth/callback");
    expect(html).toContain("Registered itself (DCR)");
  });

  test("escapes client names", async () => {
    await registerManualClient(app.db, {
      name: "<script>alert(1)</script>",
      redirectUris: ["https://x.example/cb"],
      method: "none",
      ownerUserId: null,
      now: nowSeconds(),
    });
    const html = await (await admin.b.get("/admin/clients")).text();
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });
});

describe("adding a client", () => {
  test("public: redirects to its page, which shows the client_id, and stores a manual client without a secret", async () => {
    const { res, html, clientId, secret } = await addClient(admin.b, {
      name: "Desktop app",
      redirect_uris: "http://127.0.0.1:5555/cb",
      type: "none",
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/admin/clients/edit?id=${clientId}`);
    expect(html).toContain(
      `<p class="flash" role="status">Added “Desktop app”: give the app its client ID, ${clientId}.`,
    );
    expect(secret).toBeNull();
    expect(await rowOf(clientId!)).toMatchObject({
      kind: "manual",
      name: "Desktop app",
      tokenEndpointAuthMethod: "none",
      secretHash: null,
    });
  });

  test("takes redirect URIs one per line, including private-use schemes", async () => {
    const { clientId } = await addClient(admin.b, {
      name: "Multi",
      redirect_uris:
        "https://vscode.dev/redirect\r\ncursor://anysphere.cursor-mcp/oauth/callback\n\n  http://localhost/cb  \n",
      type: "none",
    });
    expect(JSON.parse((await rowOf(clientId!))!.redirectUris)).toEqual([
      "https://vscode.dev/redirect",
      "cursor://anysphere.cursor-mcp/oauth/callback",
      "http://localhost/cb",
    ]);
  });

  test("confidential: shows a gate_cs_ secret once and stores only its SHA-256", async () => {
    const { clientId, secret } = await addClient(admin.b, {
      name: "Server app",
      redirect_uris: "https://server.example/cb",
      type: "client_secret_basic",
    });
    expect(secret).toMatch(secretPattern);
    const row = (await rowOf(clientId!))!;
    expect(row.tokenEndpointAuthMethod).toBe("client_secret_basic");
    expect(row.secretHash).toBe(sha256Hex(secret!));
    expect(
      JSON.stringify(await selectSql(app.db, sql`SELECT * FROM oauth_clients WHERE id = ${clientId!}`)),
    ).not.toContain(secret!);
  });

  test("confidential (post) stores client_secret_post", async () => {
    const { clientId } = await addClient(admin.b, {
      name: "Post app",
      redirect_uris: "https://post.example/cb",
      type: "client_secret_post",
    });
    expect((await rowOf(clientId!))!.tokenEndpointAuthMethod).toBe("client_secret_post");
  });

  test("the secret never appears again, on the list or the edit page", async () => {
    const { clientId, secret } = await addClient(admin.b, {
      name: "Once",
      redirect_uris: "https://once.example/cb",
      type: "client_secret_post",
    });
    const list = await (await admin.b.get("/admin/clients")).text();
    const edit = await (await admin.b.get(`/admin/clients/edit?id=${clientId}`)).text();
    expect(list).not.toContain(secret!);
    expect(edit).not.toContain(secret!);
    expect(list).not.toMatch(secretPattern);
  });

  test("the page with the secret is sent with Cache-Control: no-store", async () => {
    const { res } = await addClient(admin.b, {
      name: "Cached?",
      redirect_uris: "https://c.example/cb",
      type: "client_secret_post",
    });
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  const bad: [string, Record<string, string>][] = [
    ["a javascript: redirect URI", { name: "Bad", redirect_uris: "javascript:alert(1)", type: "none" }],
    ["a redirect URI with a fragment", { name: "Bad", redirect_uris: "https://x.example/cb#f", type: "none" }],
    ["an http redirect URI on a public host", { name: "Bad", redirect_uris: "http://x.example/cb", type: "none" }],
    ["one bad line among good", { name: "Bad", redirect_uris: "https://x.example/ok\ndata:text/html,x", type: "none" }],
    ["no redirect URIs", { name: "Bad", redirect_uris: " \n ", type: "none" }],
    ["an empty name", { name: "  ", redirect_uris: "https://x.example/cb", type: "none" }],
    ["a 201-character name", { name: "n".repeat(201), redirect_uris: "https://x.example/cb", type: "none" }],
    ["an unknown type", { name: "Bad", redirect_uris: "https://x.example/cb", type: "private_key_jwt" }],
  ];
  test.each(bad)("with %s is a 400 page with a message and stores nothing", async (_what, form) => {
    const before = await rowCount();
    const { res, html } = await addClient(admin.b, form);
    expect(res.status).toBe(400);
    expect(errorOf(html)).not.toBe("");
    expect(await rowCount()).toBe(before);
  });

  test("a refused form keeps what was typed", async () => {
    const { html } = await addClient(admin.b, { name: "Keep me", redirect_uris: "javascript:x", type: "none" });
    expect(html).toContain('value="Keep me"');
    expect(html).toContain("javascript:x");
  });
});

describe("editing redirect URIs", () => {
  const edit = async (b: Browser, clientId: string, redirectUris: string) =>
    b.post("/admin/clients/redirect-uris", { csrf: await csrfOf(b), client_id: clientId, redirect_uris: redirectUris });

  test("the edit page shows the current redirect URIs", async () => {
    const { client } = await registerManualClient(app.db, {
      name: "Editable",
      redirectUris: ["https://a.example/cb"],
      method: "none",
      ownerUserId: null,
      now: nowSeconds(),
    });
    const html = await (await admin.b.get(`/admin/clients/edit?id=${client.id}`)).text();
    expect(html).toContain("https://a.example/cb</textarea>");
  });

  test("saving replaces them and returns to the list", async () => {
    const { client } = await registerManualClient(app.db, {
      name: "Editable 2",
      redirectUris: ["https://a.example/cb"],
      method: "none",
      ownerUserId: null,
      now: nowSeconds(),
    });
    const res = await edit(admin.b, client.id, "https://b.example/cb\nhttp://127.0.0.1/cb");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/clients");
    expect(JSON.parse((await rowOf(client.id))!.redirectUris)).toEqual(["https://b.example/cb", "http://127.0.0.1/cb"]);
    expect(await (await admin.b.get("/admin/clients")).text()).toContain(
      '<p class="flash" role="status">Saved the redirect URIs of “Editable 2”.</p>',
    );
  });

  test("a bad redirect URI is a 400 page and changes nothing", async () => {
    const { client } = await registerManualClient(app.db, {
      name: "Editable 3",
      redirectUris: ["https://a.example/cb"],
      method: "none",
      ownerUserId: null,
      now: nowSeconds(),
    });
    const res = await edit(admin.b, client.id, "https://ok.example/cb\nvbscript:x");
    expect(res.status).toBe(400);
    expect(JSON.parse((await rowOf(client.id))!.redirectUris)).toEqual(["https://a.example/cb"]);
  });

  test("a metadata-document client cannot be edited (400)", async () => {
    const id = "https://client.example/metadata.json";
    await upsertClient(app.db, {
      id,
      kind: "cimd",
      name: "Doc",
      redirectUris: ["https://client.example/cb"],
      tokenEndpointAuthMethod: "none",
      secretHash: null,
      clientUri: null,
      fingerprint: null,
      metadataExpiresAt: nowSeconds() + 600,
      metadataFetchedAt: nowSeconds(),
      createdAt: nowSeconds(),
      lastUsedAt: null,
      ownerUserId: null,
    });
    expect((await edit(admin.b, id, "https://evil.example/cb")).status).toBe(400);
    expect(JSON.parse((await rowOf(id))!.redirectUris)).toEqual(["https://client.example/cb"]);
  });

  test("an unknown client is 404", async () => {
    expect((await edit(admin.b, "gate_client_nope", "https://a.example/cb")).status).toBe(404);
    expect((await admin.b.get("/admin/clients/edit?id=gate_client_nope")).status).toBe(404);
  });

  test("a non-admin cannot edit (403)", async () => {
    const { client } = await registerManualClient(app.db, {
      name: "Editable 4",
      redirectUris: ["https://a.example/cb"],
      method: "none",
      ownerUserId: null,
      now: nowSeconds(),
    });
    expect((await edit(member.b, client.id, "https://evil.example/cb")).status).toBe(403);
    expect(JSON.parse((await rowOf(client.id))!.redirectUris)).toEqual(["https://a.example/cb"]);
  });
});

describe("deleting a client", () => {
  const remove = async (b: Browser, clientId: string) =>
    b.post("/admin/clients/delete", { csrf: await csrfOf(b), client_id: clientId });

  /** A client with a pending request, an authorization, a code and an access and refresh token. */
  async function clientWithEverything() {
    const { oauthTokens } = app.db.tables;
    const now = nowSeconds();
    const { client } = await registerManualClient(app.db, {
      name: "Doomed",
      redirectUris: ["https://d.example/cb"],
      method: "none",
      ownerUserId: null,
      now,
    });
    const { token } = await openSession(app.db, { userId: member.id, apiKeyId: null, apiKeyExpiresAt: null, now });
    await insertPendingRequest(app.db, {
      id: randomString(10),
      clientId: client.id,
      sessionId: parseCredential("", token)!.id,
      redirectUri: "https://d.example/cb",
      scope: "mcp:read",
      state: null,
      codeChallenge: "c".repeat(43),
      resource: `${app.url}/mcp`,
      createdAt: now,
      expiresAt: now + 600,
    });
    const { authorization } = (await approveAuthorization(app.db, {
      userId: member.id,
      clientId: client.id,
      apiKeyId: null,
      scope: "mcp:read",
      resource: `${app.url}/mcp`,
      redirectUri: "https://d.example/cb",
      codeChallenge: "c".repeat(43),
      now,
      codeTtlSeconds: 600,
    }))!;
    for (const kind of ["access", "refresh"] as const) {
      await app.db.insert(oauthTokens).values({
        id: randomString(10),
        kind,
        secretHash: "0".repeat(64),
        grantId: authorization.id,
        scope: "mcp:read",
        createdAt: now,
        expiresAt: now + 3600,
        revokedAt: null,
        rotatedAt: null,
        nextRefreshId: null,
        nextAccessId: null,
      });
    }
    return { client, authorization };
  }
  async function counts(clientId: string, grantId: string) {
    const { oauthCodes, oauthGrants, oauthPendingRequests, oauthTokens } = app.db.tables;
    return {
      pending: (await app.db.select().from(oauthPendingRequests).where(eq(oauthPendingRequests.clientId, clientId)))
        .length,
      authorizations: (await app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, clientId))).length,
      codes: (await app.db.select().from(oauthCodes).where(eq(oauthCodes.grantId, grantId))).length,
      tokens: (await app.db.select().from(oauthTokens).where(eq(oauthTokens.grantId, grantId))).length,
    };
  }

  test("GET asks first, naming the client, the person and the tokens it ends, and changes nothing", async () => {
    const { client, authorization } = await clientWithEverything();
    const res = await admin.b.get(`/admin/clients/delete?id=${client.id}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<h1>Delete “Doomed”?</h1>");
    expect(html).toContain("It ends 1 person&#x27;s connection at once, and its 2 live tokens get 401 from then on");
    expect(confirmationForm(html)).toMatchObject({ action: "/admin/clients/delete", fields: { client_id: client.id } });
    expect(html).toContain(`<a class="button secondary" href="/admin/clients/edit?id=${client.id}">Cancel</a>`);
    expect(await counts(client.id, authorization.id)).toEqual({ pending: 1, authorizations: 1, codes: 1, tokens: 2 });
  });

  test("GET for an unknown client is 404", async () => {
    const res = await admin.b.get("/admin/clients/delete?id=gate_client_nope");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("That client does not exist (any more).");
  });

  test("confirming returns to the list, which says what happened once", async () => {
    const { client } = await clientWithEverything();
    const res = await confirmVia(admin.b, `/admin/clients/delete?id=${client.id}`);
    expect([res.status, res.headers.get("location")]).toEqual([303, "/admin/clients"]);
    const flash = '<p class="flash" role="status">Deleted “Doomed”: every token issued to it has stopped working.</p>';
    expect(await (await admin.b.get("/admin/clients")).text()).toContain(flash);
    expect(await (await admin.b.get("/admin/clients")).text()).not.toContain('class="flash"');
  });

  test("removes the client and returns to the list", async () => {
    const { client } = await registerManualClient(app.db, {
      name: "Gone",
      redirectUris: ["https://g.example/cb"],
      method: "none",
      ownerUserId: null,
      now: nowSeconds(),
    });
    const res = await remove(admin.b, client.id);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/clients");
    expect(await rowOf(client.id)).toBeNull();
  });

  test("deletes its pending requests, grants, codes and tokens", async () => {
    const { client, authorization } = await clientWithEverything();
    expect(await counts(client.id, authorization.id)).toEqual({ pending: 1, authorizations: 1, codes: 1, tokens: 2 });
    await remove(admin.b, client.id);
    expect(await counts(client.id, authorization.id)).toEqual({ pending: 0, authorizations: 0, codes: 0, tokens: 0 });
  });

  test("leaves other clients' grants and tokens alone", async () => {
    const keep = await clientWithEverything();
    const doomed = await clientWithEverything();
    await remove(admin.b, doomed.client.id);
    expect(await counts(keep.client.id, keep.authorization.id)).toEqual({
      pending: 1,
      authorizations: 1,
      codes: 1,
      tokens: 2,
    });
  });

  test("an unknown client is 404", async () => {
    expect((await remove(admin.b, "gate_client_nope")).status).toBe(404);
  });

  test("a non-admin cannot delete (403)", async () => {
    const { client } = await registerManualClient(app.db, {
      name: "Safe",
      redirectUris: ["https://s.example/cb"],
      method: "none",
      ownerUserId: null,
      now: nowSeconds(),
    });
    expect((await remove(member.b, client.id)).status).toBe(403);
    expect(await rowOf(client.id)).not.toBeNull();
  });
});

describe("CSRF", () => {
  test("adding without the form token is 403 and stores nothing", async () => {
    const before = await rowCount();
    const res = await admin.b.post("/admin/clients", {
      name: "No token",
      redirect_uris: "https://x.example/cb",
      type: "none",
    });
    expect(res.status).toBe(403);
    expect(await rowCount()).toBe(before);
  });

  test("adding from another origin is 403 and stores nothing", async () => {
    const before = await rowCount();
    const res = await admin.b.post(
      "/admin/clients",
      { csrf: await csrfOf(admin.b), name: "Cross-site", redirect_uris: "https://x.example/cb", type: "none" },
      { origin: "https://evil.example" },
    );
    expect(res.status).toBe(403);
    expect(await rowCount()).toBe(before);
  });

  test("deleting without the form token is 403 and the client stays", async () => {
    const { client } = await registerManualClient(app.db, {
      name: "Kept",
      redirectUris: ["https://k.example/cb"],
      method: "none",
      ownerUserId: null,
      now: nowSeconds(),
    });
    expect((await admin.b.post("/admin/clients/delete", { client_id: client.id })).status).toBe(403);
    expect(await rowOf(client.id)).not.toBeNull();
  });

  test("editing with a wrong form token is 403 and changes nothing", async () => {
    const { client } = await registerManualClient(app.db, {
      name: "Kept 2",
      redirectUris: ["https://k.example/cb"],
      method: "none",
      ownerUserId: null,
      now: nowSeconds(),
    });
    const res = await admin.b.post("/admin/clients/redirect-uris", {
      csrf: "a".repeat(26),
      client_id: client.id,
      redirect_uris: "https://evil.example/cb",
    });
    expect(res.status).toBe(403);
    expect(JSON.parse((await rowOf(client.id))!.redirectUris)).toEqual(["https://k.example/cb"]);
  });
});
