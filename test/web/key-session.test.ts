import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { first } from "../../src/db/transaction.ts";
import { eq } from "drizzle-orm";
import { createUser } from "../../src/accounts/users.ts";
import { createApiKey, revokeApiKey } from "../../src/keys/api-keys.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { makeClient, makeCode } from "../oauth/token-fixture.ts";

// A session opened by pasting an API key acts with at most that key's access
// (issue 10, point 3): a leaked Read-only CI key of an admin used to give a
// full browser session that made a Full key and invitations.

/** Keys made so far: each gets its own name, as a person's live keys must. */
let keysMade = 0;
const password = "correct horse battery staple";
const revoke = "gatehouse__revoke_connection";
const now = () => Math.floor(Date.now() / 1000);
const day = 86_400;

let app: TestApp;
let adminId: string;
let otherId: string;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  adminId = (
    await createUser(app.db, {
      email: "root@example.com",
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: true,
      now: now(),
    })
  ).id;
  otherId = (
    await createUser(app.db, {
      email: "other@example.com",
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: false,
      now: now(),
    })
  ).id;
});
afterAll(() => app.close());

/** A browser signed in by pasting `token`, or with the admin's password. */
async function signIn(token: string | null): Promise<Browser> {
  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  const res =
    token === null
      ? await b.post("/sign-in", { csrf, email: "root@example.com", password })
      : await b.post("/sign-in/key", { csrf, api_key: token });
  expect(res.status).toBe(303);
  return b;
}

function adminKey(access: "read" | "full", opts: { tools?: string[]; expiresInSeconds?: number } = {}) {
  return createApiKey(app.db, {
    userId: adminId,
    name: `${access} key ${++keysMade}`,
    access,
    tools: opts.tools ?? null,
    expiresInSeconds: opts.expiresInSeconds ?? null,
    now: now(),
  });
}

/** Posts the key form from /keys with `fields` (tool may repeat). */
async function createKey(b: Browser, fields: [string, string][]) {
  const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
  const body = new URLSearchParams([["csrf", csrf], ["expires_in", "never"], ...fields]);
  const res = await b.request("/keys", {
    method: "POST",
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: app.url },
  });
  return { res, html: await res.text() };
}

async function keysNamed(name: string) {
  const { apiKeys } = app.db.tables;
  return await app.db.select().from(apiKeys).where(eq(apiKeys.name, name));
}
async function keyRow(id: string) {
  const { apiKeys } = app.db.tables;
  return first(await app.db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1))!;
}

describe("the keys page in a Read-only key's session", () => {
  test("says what the key limits, in one sentence, and offers Read-only alone", async () => {
    const b = await signIn((await adminKey("read")).token);
    const html = await (await b.get("/keys")).text();
    expect(html).toContain('id="key-session"');
    expect(html).toContain("admin pages need a sign-in with a password or an identity provider");
    expect(html).toContain('name="access" value="read"');
    expect(html).not.toContain('name="access" value="full"');
    expect(html).not.toContain('name="access" value="chosen"');
  });

  test("refuses a Full key, with every write tool or some", async () => {
    const b = await signIn((await adminKey("read")).token);
    for (const fields of [
      [["access", "full"]],
      [
        ["access", "chosen"],
        ["tool", revoke],
      ],
    ] as [string, string][][]) {
      const { res } = await createKey(b, [["name", "escalated"], ...fields]);
      expect(res.status).toBe(400);
    }
    expect(await keysNamed("escalated")).toEqual([]);
  });

  test("makes a Read-only key that ends with the session's key: revoking that key revokes it", async () => {
    const parent = await adminKey("read");
    const b = await signIn(parent.token);
    const { res } = await createKey(b, [
      ["name", "child"],
      ["access", "read"],
    ]);
    expect(res.status).toBe(200);
    const [child] = await keysNamed("child");
    expect([child!.scope, child!.createdWithKeyId]).toEqual(["mcp:read", parent.apiKey.id]);
    await revokeApiKey(app.db, { id: parent.apiKey.id, ownerId: null, now: now() });
    expect((await keyRow(child!.id)).revokedAt).not.toBeNull();
  });

  test("a key made in a session of an expiring key expires no later than it", async () => {
    const parent = await adminKey("read", { expiresInSeconds: 7 * day });
    const b = await signIn(parent.token);
    await createKey(b, [
      ["name", "never-child"],
      ["access", "read"],
    ]);
    expect((await keysNamed("never-child"))[0]!.expiresAt).toBe(parent.apiKey.expiresAt);
  });

  test("cannot rotate a Full key (it would hand out its secret); can rotate a Read-only one", async () => {
    const b = await signIn((await adminKey("read")).token);
    const full = await adminKey("full");
    const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
    const refused = await b.post(`/keys/${full.apiKey.id}/rotate`, { csrf });
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toContain("gate_key_");
    expect((await keyRow(full.apiKey.id)).revokedAt).toBeNull();
    const reader = await adminKey("read");
    const rotated = await b.post(`/keys/${reader.apiKey.id}/rotate`, { csrf });
    expect(rotated.status).toBe(200);
    expect((await keyRow(reader.apiKey.id)).revokedAt).not.toBeNull();
  });

  test("does not list or revoke other people's connections, though the user is an admin", async () => {
    const { oauthGrants } = app.db.tables;
    const { client } = await makeClient(app, { name: "Their app" });
    const { authorization } = await makeCode(app, { userId: otherId, clientId: client.id });
    const b = await signIn((await adminKey("read")).token);
    const html = await (await b.get("/keys")).text();
    expect(html).not.toContain('id="all-connections"');
    const res = await b.post(`/connections/${authorization.id}/revoke`, { csrf: Browser.csrfOf(html) });
    expect(res.status).toBe(404);
    expect(
      first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, authorization.id)).limit(1))!.revokedAt,
    ).toBeNull();
  });
});

describe("a key limited to some write tools", () => {
  test("offers those tools to tick, never Full, and grants no other", async () => {
    const b = await signIn((await adminKey("full", { tools: [revoke] })).token);
    const html = await (await b.get("/keys")).text();
    expect(html).not.toContain('name="access" value="full"');
    expect(html).toContain(`name="tool" value="${revoke}"`);
    expect(
      (
        await createKey(b, [
          ["name", "all-tools"],
          ["access", "full"],
        ])
      ).res.status,
    ).toBe(400);
    expect(
      (
        await createKey(b, [
          ["name", "own-tool"],
          ["access", "chosen"],
          ["tool", revoke],
        ])
      ).res.status,
    ).toBe(200);
    expect(await keysNamed("all-tools")).toEqual([]);
    expect((await keysNamed("own-tool"))[0]!.tools).toEqual([revoke]);
  });
});

describe("admin pages and actions need a password or provider sign-in", () => {
  const pages = ["/admin/people", "/admin/clients", "/admin/service-accounts", "/admin/upstreams", "/admin/audit"];

  test.each(pages)("%s answers 403 with the reason to a Full key's session", async (path) => {
    const b = await signIn((await adminKey("full")).token);
    const res = await b.get(path);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain(
      "Admin pages need a sign-in with a password or an identity provider, not an API key",
    );
  });

  test("the audit export answers 403 to a key session", async () => {
    const b = await signIn((await adminKey("full")).token);
    expect((await b.get("/admin/audit.jsonl")).status).toBe(403);
  });

  test("creating an invitation is refused to a key session and stores nothing", async () => {
    const { invitations } = app.db.tables;
    const b = await signIn((await adminKey("full")).token);
    const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
    const res = await b.post("/admin/people/invite", { csrf, email: "invitee@example.com" });
    expect(res.status).toBe(403);
    expect(await app.db.select().from(invitations).where(eq(invitations.email, "invitee@example.com"))).toEqual([]);
  });

  test("the navigation shows no admin links to a key session, and all of them after a password sign-in", async () => {
    const keyPage = await (await (await signIn((await adminKey("full")).token)).get("/keys")).text();
    const passwordPage = await (await (await signIn(null)).get("/keys")).text();
    for (const path of pages) {
      expect(keyPage).not.toContain(`href="${path}"`);
      expect(passwordPage).toContain(`href="${path}"`);
    }
  });

  test.each(pages)("%s answers 200 after a password sign-in", async (path) => {
    expect((await (await signIn(null)).get(path)).status).toBe(200);
  });
});
