import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createUser } from "../../src/accounts/users.ts";
import { first } from "../../src/db/transaction.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { authenticateAccessToken } from "../../src/oauth/tokens.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { exchangeCode, makeClient, makeCode, nowSeconds, refreshRequest } from "../oauth/token-fixture.ts";

/** Keys made so far: each gets its own name, as a person's live keys must. */
let keysMade = 0;
const password = "correct horse battery staple";

let app: TestApp;
let alice: { id: string; b: Browser };
let bob: { id: string; b: Browser };
let admin: { id: string; b: Browser };
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  alice = await signedInUser("alice@example.com", false);
  bob = await signedInUser("bob@example.com", false);
  admin = await signedInUser("admin@example.com", true);
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

/** A connection of `userId` to a client named `clientName`, with its tokens. */
async function connect(userId: string, opts: { clientName?: string; scope?: string; apiKeyId?: string | null } = {}) {
  const { client } = await makeClient(app, { name: opts.clientName ?? "Claude" });
  const { authorization, code } = await makeCode(app, {
    userId,
    clientId: client.id,
    scope: opts.scope,
    apiKeyId: opts.apiKeyId,
  });
  const tokens = await exchangeCode(app, client.id, code);
  return { client, authorization, tokens };
}

/** The table row of a connection on the keys page, or null. */
async function rowOf(b: Browser, grantId: string, tableId = "connections"): Promise<string | null> {
  const html = await (await b.get("/keys")).text();
  const table = new RegExp(`<table id="${tableId}"[^>]*>([\\s\\S]*?)</table>`).exec(html)?.[1] ?? "";
  return new RegExp(`<tr data-connection-id="${grantId}">([\\s\\S]*?)</tr>`).exec(table)?.[1] ?? null;
}

async function revokeVia(b: Browser, grantId: string) {
  const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
  return b.post(`/connections/${grantId}/revoke`, { csrf });
}

async function grantRow(id: string) {
  const { oauthGrants } = app.db.tables;
  return first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, id)).limit(1))!;
}

describe("the connections list", () => {
  test("shows a connection named after its client: 'Claude (MCP connector)'", async () => {
    const { authorization } = await connect(alice.id);
    expect(await rowOf(alice.b, authorization.id)).toContain("Claude (MCP connector)");
  });

  test("a client that calls itself a connector is not called one twice", async () => {
    const { authorization } = await connect(alice.id, { clientName: "Claude (MCP connector)" });
    const row = await rowOf(alice.b, authorization.id);
    expect(row).toContain("Claude (MCP connector)");
    expect(row).not.toContain("(MCP connector) (MCP connector)");
  });

  test("shows Full access for mcp:read mcp:write", async () => {
    const { authorization } = await connect(alice.id, { scope: "mcp:read mcp:write" });
    expect(await rowOf(alice.b, authorization.id)).toContain("Full");
  });

  test("shows Read-only access for mcp:read", async () => {
    const { authorization } = await connect(alice.id, { scope: "mcp:read" });
    expect(await rowOf(alice.b, authorization.id)).toContain("Read-only");
  });

  test("shows when it was created and last used", async () => {
    const { authorization } = await connect(alice.id);
    const row = (await rowOf(alice.b, authorization.id))!;
    expect(row.match(/<time /g)?.length).toBe(2);
  });

  test("escapes the client's name", async () => {
    const { authorization } = await connect(alice.id, { clientName: "<script>x</script>" });
    const row = (await rowOf(alice.b, authorization.id))!;
    expect(row).not.toContain("<script>");
    expect(row).toContain("&lt;script&gt;");
  });

  test("does not show another user's connections", async () => {
    const { authorization } = await connect(bob.id);
    expect(await rowOf(alice.b, authorization.id)).toBeNull();
  });

  test("is headed Connected apps", async () => {
    expect(await (await alice.b.get("/keys")).text()).toContain("<h2>Connected apps</h2>");
  });

  test("does not show the other people's section to a non-admin", async () => {
    const html = await (await alice.b.get("/keys")).text();
    expect(html).not.toContain("Other people's connected apps");
    expect(html).not.toContain('id="all-connections"');
  });

  test("an admin sees every user's connections with their email", async () => {
    const { authorization } = await connect(bob.id);
    const row = await rowOf(admin.b, authorization.id, "all-connections");
    expect(row).toContain("bob@example.com");
    expect(row).toContain("Claude (MCP connector)");
  });

  test("an admin's own connection is listed once: in their own list, not in the others'", async () => {
    const { authorization } = await connect(admin.id);
    expect(await rowOf(admin.b, authorization.id)).not.toBeNull();
    expect(await rowOf(admin.b, authorization.id, "all-connections")).toBeNull();
  });
});

describe("revoking a connection", () => {
  test("redirects back to /keys and removes it from the list", async () => {
    const { authorization } = await connect(alice.id);
    const res = await revokeVia(alice.b, authorization.id);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/keys");
    expect(await rowOf(alice.b, authorization.id)).toBeNull();
  });

  test("GET asks first, naming the app and the person, and changes nothing", async () => {
    const { authorization, tokens } = await connect(alice.id, { clientName: "Claude <beta>" });
    const res = await alice.b.get(`/connections/${authorization.id}/revoke`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<h1>Revoke “Claude &lt;beta&gt;” for alice@example.com?</h1>");
    expect(html).toContain("It gets 401 on its next request, and its refresh token stops working.");
    expect(html).toContain(`<form method="post" action="/connections/${authorization.id}/revoke"`);
    expect(html).toContain('<a class="button secondary" href="/keys">Cancel</a>');
    expect((await grantRow(authorization.id)).revokedAt).toBeNull();
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).not.toBeNull();
  });

  test("GET for another user's connection or an unknown one is 404", async () => {
    const { authorization } = await connect(alice.id);
    for (const id of [authorization.id, "no-such-grant"]) {
      const res = await bob.b.get(`/connections/${id}/revoke`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain("That connection does not exist or is already revoked.");
    }
  });

  test("an admin is asked with the other person's email", async () => {
    const { authorization } = await connect(bob.id);
    const html = await (await admin.b.get(`/connections/${authorization.id}/revoke`)).text();
    expect(html).toContain("<h1>Revoke “Claude” for bob@example.com?</h1>");
    expect((await grantRow(authorization.id)).revokedAt).toBeNull();
  });

  test("the list's Revoke is a link to the question, not a form that acts", async () => {
    const { authorization } = await connect(alice.id);
    const row = (await rowOf(alice.b, authorization.id))!;
    expect(row).toContain(`<a class="button danger" href="/connections/${authorization.id}/revoke">`);
    expect(row).not.toContain(`action="/connections/${authorization.id}/revoke"`);
  });

  test("POST says on /keys what happened, once", async () => {
    const { authorization } = await connect(bob.id, { clientName: "Cursor" });
    expect((await revokeVia(admin.b, authorization.id)).headers.get("location")).toBe("/keys");
    expect(await (await admin.b.get("/keys")).text()).toContain(
      '<p class="flash" role="status">Revoked “Cursor” for bob@example.com: it gets 401 from now on.</p>',
    );
    expect(await (await admin.b.get("/keys")).text()).not.toContain('class="flash"');
  });

  test("ends it at once: the access token stops authenticating", async () => {
    const { authorization, tokens } = await connect(alice.id);
    await revokeVia(alice.b, authorization.id);
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).toBeNull();
  });

  test("ends it at once: the refresh token is invalid_grant", async () => {
    const { client, authorization, tokens } = await connect(alice.id);
    await revokeVia(alice.b, authorization.id);
    const res = await refreshRequest(app, client.id, tokens.refresh_token);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_grant");
  });

  test("another user cannot revoke it (404) and it stays live", async () => {
    const { authorization, tokens } = await connect(alice.id);
    const res = await revokeVia(bob.b, authorization.id);
    expect(res.status).toBe(404);
    expect((await grantRow(authorization.id)).revokedAt).toBeNull();
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).not.toBeNull();
  });

  test("an admin can revoke another user's connection", async () => {
    const { authorization } = await connect(bob.id);
    expect((await revokeVia(admin.b, authorization.id)).status).toBe(303);
    expect((await grantRow(authorization.id)).revokedAt).toBeNumber();
  });

  test("without the CSRF token is refused and it stays live", async () => {
    const { authorization } = await connect(alice.id);
    const res = await alice.b.post(`/connections/${authorization.id}/revoke`, { csrf: "" });
    expect(res.status).toBe(403);
    expect((await grantRow(authorization.id)).revokedAt).toBeNull();
  });

  test("an already revoked connection is 404", async () => {
    const { authorization } = await connect(alice.id);
    await revokeVia(alice.b, authorization.id);
    expect((await revokeVia(alice.b, authorization.id)).status).toBe(404);
  });
});

describe("the API key a session was opened with", () => {
  async function keySession(userId: string) {
    const { apiKey, token } = await createApiKey(app.db, {
      userId,
      name: `pasted ${++keysMade}`,
      access: "full",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const b = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    expect((await b.post("/sign-in/key", { csrf, api_key: token })).status).toBe(303);
    return { apiKey, b };
  }

  test("revoking it revokes the grants approved in that session", async () => {
    const { apiKey } = await keySession(alice.id);
    const { authorization, tokens } = await connect(alice.id, { apiKeyId: apiKey.id });
    const csrf = Browser.csrfOf(await (await alice.b.get("/keys")).text());
    expect((await alice.b.post(`/keys/${apiKey.id}/revoke`, { csrf })).status).toBe(303);
    expect((await grantRow(authorization.id)).revokedAt).toBeNumber();
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).toBeNull();
  });

  test("rotating it revokes the grants approved in that session", async () => {
    const { apiKey } = await keySession(alice.id);
    const { authorization, tokens } = await connect(alice.id, { apiKeyId: apiKey.id });
    const csrf = Browser.csrfOf(await (await alice.b.get("/keys")).text());
    expect((await alice.b.post(`/keys/${apiKey.id}/rotate`, { csrf })).status).toBe(200);
    expect((await grantRow(authorization.id)).revokedAt).toBeNumber();
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).toBeNull();
  });

  test("revoking it leaves grants approved in password sessions alone", async () => {
    const { apiKey } = await keySession(alice.id);
    const { authorization } = await connect(alice.id, { apiKeyId: null });
    const csrf = Browser.csrfOf(await (await alice.b.get("/keys")).text());
    await alice.b.post(`/keys/${apiKey.id}/revoke`, { csrf });
    expect((await grantRow(authorization.id)).revokedAt).toBeNull();
  });
});
