import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { first } from "../../src/db/transaction.ts";
import { eq, sql } from "drizzle-orm";
import { createUser } from "../../src/accounts/users.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { registerManualClient } from "../../src/oauth/registration.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { rawInitialize } from "../mcp/fixture.ts";
import { authorizePath, openConsent } from "../oauth/authorize-fixture.ts";
import { basicAuth, exchangeCode, makeCode, postForm, redirectUri, verifier } from "../oauth/token-fixture.ts";
import { nowSeconds } from "../support/clock.ts";
import { execSql } from "../support/sql.ts";
import { confirmationForm, confirmVia } from "../support/confirm-page.ts";

// Issue 11, part 4 (the Evenhand doc: "the user creates a client record at
// Settings → Connected MCP clients"): every signed-in person registers and
// manages their own clients on /clients; admins see and manage all of them
// on /admin/clients.

/** Keys made so far: each gets its own name, as a person's live keys must. */
let keysMade = 0;
const password = "correct horse battery staple";
const secretPattern = /gate_cs_[a-z2-7]{16}_[a-z2-7]{52}/;
const clientIdPattern = /gate_client_[a-z2-7]{16}/;
const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");
const errorOf = (html: string) => /<p class="error" role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1] ?? "";

type Person = { id: string; email: string; b: Browser };
let app: TestApp;
let admin: Person;
let alice: Person;
let bob: Person;
beforeAll(async () => {
  // Over a socket: /mcp reads the auth epoch once per event-loop turn, and a request sent after the page's
  // answer comes from its socket in a later turn (src/mcp/credential-cache.ts).
  app = await createTestApp();
  admin = await signedInUser("admin@example.com", true);
  alice = await signedInUser("alice@example.com", false);
  bob = await signedInUser("bob@example.com", false);
});
afterAll(() => app.close());

async function signedInUser(email: string, isAdmin: boolean): Promise<Person> {
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
  return { id: user.id, email, b };
}

const csrfOf = async (b: Browser) => Browser.csrfOf(await (await b.get("/keys")).text());
async function rowOf(id: string) {
  const { oauthClients } = app.db.tables;
  return first(await app.db.select().from(oauthClients).where(eq(oauthClients.id, id)).limit(1));
}
async function rowCount() {
  const { oauthClients } = app.db.tables;
  return (await app.db.select().from(oauthClients)).length;
}
const urisOf = async (id: string) => JSON.parse((await rowOf(id))!.redirectUris) as string[];

/** Adds a client through the form; a public one is redirected to its page, which this follows. */
async function addClient(b: Browser, form: Record<string, string>, path = "/clients") {
  const res = await b.post(path, { csrf: await csrfOf(b), ...form });
  const location = res.headers.get("location");
  const html = res.status === 303 && location ? await (await b.get(location)).text() : await res.text();
  return {
    res,
    html,
    clientId: clientIdPattern.exec(html)?.[0] ?? null,
    secret: secretPattern.exec(html)?.[0] ?? null,
  };
}

/** The flash message on a page, or null. */
const flashOf = (html: string) => /<p class="flash" role="status">([^<]*)<\/p>/.exec(html)?.[1] ?? null;

/** A client `owner` registered on their page, straight in the database. */
async function ownedClient(owner: Person, method: "none" | "client_secret_basic" = "none") {
  return registerManualClient(app.db, {
    name: `${owner.email}'s app`,
    redirectUris: [redirectUri],
    method,
    ownerUserId: owner.id,
    now: nowSeconds(),
  });
}

const post = async (b: Browser, path: string, form: Record<string, string>) =>
  b.post(path, { csrf: await csrfOf(b), ...form });

/** Audit entries waiting in the recorder are written first. */
async function auditOf(clientId: string) {
  const { auditEvents } = app.db.tables;
  await app.audit.drain();
  return await app.db.select().from(auditEvents).where(eq(auditEvents.clientId, clientId));
}

describe("access", () => {
  test("signed out is redirected to sign-in with next", async () => {
    const res = await new Browser(app.url, app.send).get("/clients");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/sign-in?next=${encodeURIComponent("/clients")}`);
  });

  test("a member sees the page, sent with Cache-Control: no-store", async () => {
    const res = await alice.b.get("/clients");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toContain('id="add-client"');
  });

  test("the header links every signed-in person to OAuth clients, and admins to All OAuth clients too", async () => {
    const member = await (await alice.b.get("/keys")).text();
    const adminPage = await (await admin.b.get("/keys")).text();
    expect(member).toContain('<a href="/clients">OAuth clients</a>');
    expect(member).not.toContain('href="/admin/clients"');
    expect(adminPage).toContain('<a href="/clients">OAuth clients</a>');
    expect(adminPage).toContain('<a href="/admin/clients">All OAuth clients</a>');
  });

  test("each page's heading is its nav link's name: Your OAuth clients, All OAuth clients", async () => {
    expect(await (await alice.b.get("/clients")).text()).toContain("<h1>Your OAuth clients</h1>");
    expect(await (await admin.b.get("/admin/clients")).text()).toContain("<h1>All OAuth clients</h1>");
  });

  test("a signed-out form post is 401 and stores nothing", async () => {
    const b = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    const before = await rowCount();
    expect(
      (await b.post("/clients", { csrf, name: "x", redirect_uris: "https://x.example/cb", type: "none" })).status,
    ).toBe(401);
    expect(await rowCount()).toBe(before);
  });
});

describe("a session opened with an API key", () => {
  async function keySession(person: Person) {
    const { token } = await createApiKey(app.db, {
      userId: person.id,
      name: `pasted ${++keysMade}`,
      access: "full",
      tools: null,
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const b = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    expect((await b.post("/sign-in/key", { csrf, api_key: token })).status).toBe(303);
    return b;
  }

  test("gets a 403 page saying to sign in again, not the list", async () => {
    await ownedClient(alice);
    const res = await (await keySession(alice)).get("/clients");
    const html = await res.text();
    expect(res.status).toBe(403);
    expect(html).toContain("Sign in again to manage clients");
    expect(html).not.toContain(`${alice.email}'s app`);
  });

  test("cannot register a client (403, nothing stored)", async () => {
    const b = await keySession(alice);
    const before = await rowCount();
    const { res } = await addClient(b, {
      name: "From a key",
      redirect_uris: "https://x.example/cb",
      type: "client_secret_basic",
    });
    expect(res.status).toBe(403);
    expect(await rowCount()).toBe(before);
  });

  test("cannot make a new secret for or delete the person's own client (403, no change)", async () => {
    const { client } = await ownedClient(alice, "client_secret_basic");
    const b = await keySession(alice);
    expect((await post(b, "/clients/secret", { client_id: client.id })).status).toBe(403);
    expect((await post(b, "/clients/delete", { client_id: client.id })).status).toBe(403);
    expect((await rowOf(client.id))!.secretHash).toBe(client.secretHash);
  });
});

describe("registering a client", () => {
  test("public: redirects to its page, which shows the client_id; the member owns a manual client without a secret", async () => {
    const { res, html, clientId, secret } = await addClient(alice.b, {
      name: "Alice desktop",
      redirect_uris: "http://127.0.0.1:5555/cb",
      type: "none",
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/clients/edit?id=${clientId}`);
    expect(flashOf(html)).toBe(
      `Added “Alice desktop”: give the app its client ID, ${clientId}. It has no secret: it uses PKCE.`,
    );
    expect(secret).toBeNull();
    expect(await rowOf(clientId!)).toMatchObject({
      kind: "manual",
      name: "Alice desktop",
      tokenEndpointAuthMethod: "none",
      secretHash: null,
      ownerUserId: alice.id,
    });
  });

  test("confidential: shows a gate_cs_ secret once and stores only its SHA-256", async () => {
    const { clientId, secret } = await addClient(alice.b, {
      name: "Alice server",
      redirect_uris: "https://alice.example/cb",
      type: "client_secret_post",
    });
    expect(secret).toMatch(secretPattern);
    expect(await rowOf(clientId!)).toMatchObject({
      tokenEndpointAuthMethod: "client_secret_post",
      secretHash: sha256Hex(secret!),
      ownerUserId: alice.id,
    });
    expect(await (await alice.b.get("/clients")).text()).not.toContain(secret!);
  });

  test("is audited as client_registered under the member, with the owner and never the secret", async () => {
    const { clientId, secret } = await addClient(alice.b, {
      name: "Audited",
      redirect_uris: "https://a.example/cb",
      type: "client_secret_basic",
    });
    const [entry] = await auditOf(clientId!);
    expect(entry).toMatchObject({ event: "client_registered", outcome: "ok", userId: alice.id });
    expect(JSON.parse(entry!.detail!)).toEqual({
      kind: "manual",
      name: "Audited",
      owner_user_id: alice.id,
      auth_method: "client_secret_basic",
    });
    expect(JSON.stringify(entry)).not.toContain(secret!);
  });

  const bad: [string, Record<string, string>][] = [
    ["a javascript: redirect URI", { name: "Bad", redirect_uris: "javascript:alert(1)", type: "none" }],
    ["a redirect URI with a fragment", { name: "Bad", redirect_uris: "https://x.example/cb#f", type: "none" }],
    ["an http redirect URI on a public host", { name: "Bad", redirect_uris: "http://x.example/cb", type: "none" }],
    ["no redirect URIs", { name: "Bad", redirect_uris: " \n ", type: "none" }],
    ["an empty name", { name: "  ", redirect_uris: "https://x.example/cb", type: "none" }],
    ["an unknown type", { name: "Bad", redirect_uris: "https://x.example/cb", type: "private_key_jwt" }],
  ];
  test.each(bad)("with %s is a 400 page with a message and stores nothing", async (_what, form) => {
    const before = await rowCount();
    const { res, html } = await addClient(alice.b, form);
    expect(res.status).toBe(400);
    expect(errorOf(html)).not.toBe("");
    expect(await rowCount()).toBe(before);
  });

  test("without the form token is 403 and stores nothing", async () => {
    const before = await rowCount();
    expect(
      (await alice.b.post("/clients", { name: "No token", redirect_uris: "https://x.example/cb", type: "none" }))
        .status,
    ).toBe(403);
    expect(await rowCount()).toBe(before);
  });

  test("an admin's client added on /admin/clients has no owner (the organization's)", async () => {
    const { clientId } = await addClient(
      admin.b,
      { name: "Org app", redirect_uris: "https://org.example/cb", type: "none" },
      "/admin/clients",
    );
    expect((await rowOf(clientId!))!.ownerUserId).toBeNull();
  });
});

describe("the list", () => {
  test("shows the member's own clients and no one else's", async () => {
    const mine = (await ownedClient(bob)).client;
    const theirs = (await ownedClient(alice)).client;
    const org = (
      await registerManualClient(app.db, {
        name: "Org only",
        redirectUris: ["https://org.example/cb"],
        method: "none",
        ownerUserId: null,
        now: nowSeconds(),
      })
    ).client;
    const html = await (await bob.b.get("/clients")).text();
    expect(html).toContain(`data-client-id="${mine.id}"`);
    expect(html).not.toContain(theirs.id);
    expect(html).not.toContain(org.id);
  });

  test("escapes client names", async () => {
    await registerManualClient(app.db, {
      name: "<script>alert(1)</script>",
      redirectUris: ["https://x.example/cb"],
      method: "none",
      ownerUserId: bob.id,
      now: nowSeconds(),
    });
    const html = await (await bob.b.get("/clients")).text();
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  test("an admin's /admin/clients lists members' clients with their owner's email", async () => {
    const { client } = await ownedClient(bob);
    const html = await (await admin.b.get("/admin/clients")).text();
    const row = new RegExp(`<tr data-client-id="${client.id}">.*?</tr>`, "s").exec(html)?.[0] ?? "";
    expect(row).toMatch(new RegExp(`<td class="owner"[^>]*>${bob.email}</td>`));
    expect(row).toContain("Added by its owner");
  });
});

describe("changing redirect URIs", () => {
  test("the owner saves new ones and returns to /clients, audited", async () => {
    const { client } = await ownedClient(alice);
    const res = await post(alice.b, "/clients/redirect-uris", {
      client_id: client.id,
      redirect_uris: "https://b.example/cb\nhttp://127.0.0.1/cb",
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/clients");
    expect(await urisOf(client.id)).toEqual(["https://b.example/cb", "http://127.0.0.1/cb"]);
    expect((await auditOf(client.id)).map((e) => [e.event, e.userId])).toEqual([
      ["client_redirect_uris_changed", alice.id],
    ]);
    expect(flashOf(await (await alice.b.get("/clients")).text())).toBe(
      "Saved the redirect URIs of “alice@example.com&#x27;s app”.",
    );
    expect(flashOf(await (await alice.b.get("/clients")).text())).toBeNull();
  });

  test("a bad one is a 400 page and changes nothing", async () => {
    const { client } = await ownedClient(alice);
    const res = await post(alice.b, "/clients/redirect-uris", {
      client_id: client.id,
      redirect_uris: "https://ok.example/cb\nvbscript:x",
    });
    expect(res.status).toBe(400);
    expect(await urisOf(client.id)).toEqual([redirectUri]);
  });
});

describe("a new secret", () => {
  test("is shown once; the old secret stops working at the token endpoint and the new one works", async () => {
    const { client, secret: old } = await ownedClient(alice, "client_secret_basic");
    const res = await confirmVia(alice.b, `/clients/secret?id=${client.id}`);
    const fresh = secretPattern.exec(await res.text())?.[0];
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect((await rowOf(client.id))!.secretHash).toBe(sha256Hex(fresh!));
    const exchange = async (secret: string) => {
      const { code } = await makeCode(app, { userId: alice.id, clientId: client.id });
      return postForm(
        app,
        "/oauth/token",
        { grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier },
        { authorization: basicAuth(client.id, secret) },
      );
    };
    expect((await exchange(old!)).status).toBe(401);
    expect((await exchange(fresh!)).status).toBe(200);
    expect((await auditOf(client.id)).map((e) => e.event)).toContain("client_secret_renewed");
  });

  test("GET asks first, naming the client and what stops working, and changes nothing", async () => {
    const { client } = await ownedClient(alice, "client_secret_basic");
    const res = await alice.b.get(`/clients/secret?id=${client.id}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`<h1>Make a new secret for “alice@example.com&#x27;s app”?</h1>`);
    expect(html).toContain("Its current secret stops working at once");
    expect(confirmationForm(html)).toMatchObject({
      action: "/clients/secret",
      fields: { client_id: client.id, secret_version: expect.stringMatching(/^[0-9a-f]{16}$/) },
    });
    expect(html).toContain(`<a class="button secondary" href="/clients/edit?id=${client.id}">Cancel</a>`);
    expect(html).not.toMatch(secretPattern);
    expect((await rowOf(client.id))!.secretHash).toBe(client.secretHash);
  });

  test("the edit page's button is a link to the question, not a form that acts", async () => {
    const { client } = await ownedClient(alice, "client_secret_basic");
    const html = await (await alice.b.get(`/clients/edit?id=${client.id}`)).text();
    expect(html).toContain(`<a class="button secondary" href="/clients/secret?id=${client.id}">`);
    expect(html).not.toContain('action="/clients/secret"');
  });

  test("its page says what happened in a status line", async () => {
    const { client } = await ownedClient(alice, "client_secret_basic");
    const html = await (await confirmVia(alice.b, `/clients/secret?id=${client.id}`)).text();
    expect(flashOf(html)).toBe(
      "Made a new secret for “alice@example.com&#x27;s app”: the old one has stopped working.",
    );
  });

  test("sending the same form again makes no second secret (409): the one shown stays good", async () => {
    const { client } = await ownedClient(alice, "client_secret_basic");
    const { fields } = confirmationForm(await (await alice.b.get(`/clients/secret?id=${client.id}`)).text());
    const first = await alice.b.post("/clients/secret", fields);
    const shown = secretPattern.exec(await first.text())![0];
    const again = await alice.b.post("/clients/secret", fields);
    expect(again.status).toBe(409);
    expect(await again.text()).not.toMatch(secretPattern);
    expect((await rowOf(client.id))!.secretHash).toBe(sha256Hex(shown));
  });

  test("a form without the secret it replaces makes none (409)", async () => {
    const { client } = await ownedClient(alice, "client_secret_basic");
    expect((await post(alice.b, "/clients/secret", { client_id: client.id })).status).toBe(409);
    expect((await rowOf(client.id))!.secretHash).toBe(client.secretHash);
  });

  test("GET for a public client is the 400 page, with no question", async () => {
    const { client } = await ownedClient(alice);
    const res = await alice.b.get(`/clients/secret?id=${client.id}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("A public client has no secret");
  });

  test("for a public client is a 400 page and gives it no secret", async () => {
    const { client } = await ownedClient(alice);
    const res = await post(alice.b, "/clients/secret", { client_id: client.id });
    expect(res.status).toBe(400);
    expect((await rowOf(client.id))!.secretHash).toBeNull();
  });
});

describe("deleting a client", () => {
  test("the owner deletes it; its tokens stop working at /mcp at once, audited", async () => {
    const { oauthGrants } = app.db.tables;
    const { client } = await ownedClient(alice);
    const { code } = await makeCode(app, { userId: bob.id, clientId: client.id });
    const tokens = await exchangeCode(app, client.id, code);
    expect((await rawInitialize(app, tokens.access_token, "2025-06-18")).status).toBe(200);
    const res = await confirmVia(alice.b, `/clients/delete?id=${client.id}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/clients");
    expect(await rowOf(client.id)).toBeNull();
    expect(await app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, client.id))).toEqual([]);
    expect((await rawInitialize(app, tokens.access_token, "2025-06-18")).status).toBe(401);
    expect((await auditOf(client.id)).map((e) => [e.event, e.userId])).toContainEqual(["client_deleted", alice.id]);
  });
});

describe("deleting a client asks first and reports", () => {
  test("GET names the client and how many people's connections and tokens it ends, and changes nothing", async () => {
    const { client } = await ownedClient(alice);
    for (const person of [alice, bob]) {
      const { code } = await makeCode(app, { userId: person.id, clientId: client.id });
      await exchangeCode(app, client.id, code);
    }
    const res = await alice.b.get(`/clients/delete?id=${client.id}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<h1>Delete “alice@example.com&#x27;s app”?</h1>");
    expect(html).toContain("It ends 2 people&#x27;s connections at once, and its 4 live tokens get 401 from then on");
    expect(html).toContain("Its client ID stops working");
    expect(confirmationForm(html)).toMatchObject({ action: "/clients/delete", fields: { client_id: client.id } });
    expect(html).toContain(`<a class="button secondary" href="/clients/edit?id=${client.id}">Cancel</a>`);
    expect(await rowOf(client.id)).not.toBeNull();
  });

  test("GET says so when nobody is connected with it", async () => {
    const { client } = await ownedClient(alice, "client_secret_basic");
    const html = await (await alice.b.get(`/clients/delete?id=${client.id}`)).text();
    expect(html).toContain("Nobody is connected with it now.");
    expect(html).toContain("Its client ID and secret stop working");
  });

  test("the edit page's button is a link to the question, not a form that acts", async () => {
    const { client } = await ownedClient(alice);
    const html = await (await alice.b.get(`/clients/edit?id=${client.id}`)).text();
    expect(html).toContain(`<a class="button danger" href="/clients/delete?id=${client.id}">`);
    expect(html).not.toContain('action="/clients/delete"');
  });

  test("the list says what happened, once", async () => {
    const { client } = await ownedClient(alice);
    await confirmVia(alice.b, `/clients/delete?id=${client.id}`);
    expect(flashOf(await (await alice.b.get("/clients")).text())).toBe(
      "Deleted “alice@example.com&#x27;s app”: every token issued to it has stopped working.",
    );
    expect(flashOf(await (await alice.b.get("/clients")).text())).toBeNull();
  });
});

describe("another person's client", () => {
  // Bob tries Alice's client by its id on his own page: "no such client", and nothing changes.
  test("cannot be opened (404)", async () => {
    const { client } = await ownedClient(alice);
    const res = await bob.b.get(`/clients/edit?id=${client.id}`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain(client.name);
  });

  test("cannot have its redirect URIs changed (404, unchanged)", async () => {
    const { client } = await ownedClient(alice);
    expect(
      (
        await post(bob.b, "/clients/redirect-uris", {
          client_id: client.id,
          redirect_uris: "https://bob.example/steal",
        })
      ).status,
    ).toBe(404);
    expect(await urisOf(client.id)).toEqual([redirectUri]);
  });

  test("has no confirmation page for a new secret or deleting it (404)", async () => {
    const { client } = await ownedClient(alice, "client_secret_basic");
    for (const path of [`/clients/secret?id=${client.id}`, `/clients/delete?id=${client.id}`]) {
      const res = await bob.b.get(path);
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain("That client does not exist (any more).");
      expect(html).not.toContain(client.name);
    }
    expect((await bob.b.get("/clients/delete?id=gate_client_nope")).status).toBe(404);
  });

  test("cannot get a new secret (404, unchanged)", async () => {
    const { client } = await ownedClient(alice, "client_secret_basic");
    const res = await post(bob.b, "/clients/secret", { client_id: client.id });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(secretPattern);
    expect((await rowOf(client.id))!.secretHash).toBe(client.secretHash);
  });

  test("cannot be deleted (404, still there)", async () => {
    const { client } = await ownedClient(alice);
    expect((await post(bob.b, "/clients/delete", { client_id: client.id })).status).toBe(404);
    expect(await rowOf(client.id)).not.toBeNull();
  });

  test("nor can an admin's or a self-registered client be touched from /clients (404)", async () => {
    const org = (
      await registerManualClient(app.db, {
        name: "Org",
        redirectUris: [redirectUri],
        method: "none",
        ownerUserId: null,
        now: nowSeconds(),
      })
    ).client;
    const res = await app.request("/oauth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "DCR", redirect_uris: ["https://dcr.example/cb"] }),
    });
    const { client_id: dcr } = (await res.json()) as { client_id: string };
    for (const id of [org.id, dcr]) {
      expect((await bob.b.get(`/clients/edit?id=${id}`)).status).toBe(404);
      expect((await post(bob.b, "/clients/delete", { client_id: id })).status).toBe(404);
      expect(await rowOf(id)).not.toBeNull();
    }
  });

  test("an admin manages it on /admin/clients, audited under the admin with the owner named", async () => {
    const { client } = await ownedClient(alice, "client_secret_basic");
    expect((await admin.b.get(`/admin/clients/edit?id=${client.id}`)).status).toBe(200);
    expect((await confirmVia(admin.b, `/admin/clients/secret?id=${client.id}`)).status).toBe(200);
    expect((await confirmVia(admin.b, `/admin/clients/delete?id=${client.id}`)).status).toBe(303);
    expect(await rowOf(client.id)).toBeNull();
    const entries = await auditOf(client.id);
    expect(entries.map((e) => [e.event, e.userId])).toEqual([
      ["client_secret_renewed", admin.id],
      ["client_deleted", admin.id],
    ]);
    expect(JSON.parse(entries[1]!.detail!)).toMatchObject({ owner_user_id: alice.id });
  });
});

describe("CSRF on the owner's forms", () => {
  test.each(["/clients/redirect-uris", "/clients/secret", "/clients/delete"])(
    "%s without the form token is 403 and changes nothing",
    async (path) => {
      const { client } = await ownedClient(alice, "client_secret_basic");
      const res = await alice.b.post(path, { client_id: client.id, redirect_uris: "https://evil.example/cb" });
      expect(res.status).toBe(403);
      expect(await rowOf(client.id)).toMatchObject({
        secretHash: client.secretHash,
        redirectUris: JSON.stringify([redirectUri]),
      });
    },
  );

  test("a post from another origin is 403 and changes nothing", async () => {
    const { client } = await ownedClient(alice);
    const res = await alice.b.post(
      "/clients/delete",
      { csrf: await csrfOf(alice.b), client_id: client.id },
      { origin: "https://evil.example" },
    );
    expect(res.status).toBe(403);
    expect(await rowOf(client.id)).not.toBeNull();
  });
});

describe("the owner's account", () => {
  // No command deletes a person today (they are disabled); the schema decides what a deletion would do.
  test("deleting it deletes their clients and every grant and token issued to them", async () => {
    const { oauthTokens } = app.db.tables;
    const carol = await createUser(app.db, {
      email: "carol@example.com",
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: false,
      now: nowSeconds(),
    });
    const { client } = await registerManualClient(app.db, {
      name: "Carol's",
      redirectUris: [redirectUri],
      method: "none",
      ownerUserId: carol.id,
      now: nowSeconds(),
    });
    const { authorization, code } = await makeCode(app, { userId: bob.id, clientId: client.id });
    await exchangeCode(app, client.id, code);
    await execSql(app.db, sql`DELETE FROM users WHERE id = ${carol.id}`);
    expect(await rowOf(client.id)).toBeNull();
    expect(await app.db.select().from(oauthTokens).where(eq(oauthTokens.grantId, authorization.id))).toEqual([]);
  });
});

describe("the consent page", () => {
  // Any member may name a client "Claude"; the address of whoever registered it tells it from the real one.
  test("names the person who registered the client", async () => {
    const client = await ownedClient(alice);
    const { html } = await openConsent(admin.b, authorizePath(client.client.id, { redirect_uri: redirectUri }));
    expect(html).toContain('id="registered-by">Registered on this server by <strong>alice@example.com</strong>');
  });

  test("names no one for a client an admin registered", async () => {
    const client = await registerManualClient(app.db, {
      name: "Team app",
      redirectUris: [redirectUri],
      method: "none",
      ownerUserId: null,
      now: nowSeconds(),
    });
    const { html } = await openConsent(bob.b, authorizePath(client.client.id, { redirect_uri: redirectUri }));
    expect(html).not.toContain('id="registered-by"');
  });
});
