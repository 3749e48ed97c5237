import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { createHash } from "node:crypto";
import { first } from "../../src/db/transaction.ts";
import { eq, sql } from "drizzle-orm";
import { createUser } from "../../src/accounts/users.ts";
import { authenticateApiKey, createApiKey, revokeApiKey } from "../../src/keys/api-keys.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { nowSeconds } from "../support/clock.ts";
import { selectSql } from "../support/sql.ts";

const password = "correct horse battery staple";
const tokenPattern = /gate_key_[a-z2-7]{16}_[a-z2-7]{52}/;

let app: TestApp;
let alice: { id: string; b: Browser };
let bob: { id: string; b: Browser };
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  alice = await signedInUser("alice@example.com");
  bob = await signedInUser("bob@example.com");
});
afterAll(() => app.close());

async function signedInUser(email: string) {
  const user = await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: false,
    now: nowSeconds(),
  });
  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  expect((await b.post("/sign-in", { csrf, email, password })).status).toBe(303);
  return { id: user.id, b };
}

async function csrfOf(b: Browser) {
  return Browser.csrfOf(await (await b.get("/keys")).text());
}

/** Creates a key through the form; returns the response, its page and the token shown. */
async function createViaForm(b: Browser, form: Record<string, string>) {
  const res = await b.post("/keys", { csrf: await csrfOf(b), ...form });
  const html = await res.text();
  return { res, html, token: tokenPattern.exec(html)?.[0] ?? null };
}

async function rowsOf(userId: string) {
  const { apiKeys } = app.db.tables;
  return await app.db.select().from(apiKeys).where(eq(apiKeys.userId, userId));
}
async function rowOf(id: string) {
  const { apiKeys } = app.db.tables;
  return first(await app.db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1));
}
const idOf = (token: string) => token.slice("gate_key_".length, "gate_key_".length + 16);
const unescapeHtml = (s: string) =>
  s
    .replaceAll("&quot;", '"')
    .replaceAll("&#x27;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");

/** A `curl -s URL -H … -d …` command as a shell would split it: '…' kept as is, $NAME in "…" replaced from `env`. */
function curlOf(command: string, env: Record<string, string>) {
  const words = [...command.replaceAll("\\\n", " ").matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map(
    ([, single, double, bare]) => single ?? (double ?? bare!).replace(/\$(\w+)/g, (_, name: string) => env[name] ?? ""),
  );
  expect(words.slice(0, 2)).toEqual(["curl", "-s"]);
  const headers = new Headers();
  let data = "";
  for (let i = 3; i < words.length; i += 2) {
    if (words[i] === "-H") headers.append(...(words[i + 1]!.split(/:\s*/, 2) as [string, string]));
    else if (words[i] === "-d") data = words[i + 1]!;
    else throw new Error(`unexpected curl argument ${words[i]}`);
  }
  return { url: words[2]!, headers, data };
}
const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");

describe("the keys page", () => {
  test("signed out redirects to /sign-in?next=/keys", async () => {
    const res = await new Browser(app.url, app.send).get("/keys");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/sign-in?next=%2Fkeys");
  });

  test("is sent with Cache-Control: no-store", async () => {
    expect((await alice.b.get("/keys")).headers.get("cache-control")).toBe("no-store");
  });

  test("never contains a key's secret", async () => {
    const { token } = await createViaForm(alice.b, { name: "listed", access: "read", expires_in: "never" });
    const html = await (await alice.b.get("/keys")).text();
    expect(html).toContain(idOf(token!));
    expect(html).not.toContain(token!.slice(-52));
  });

  test("lists only the viewer's own keys", async () => {
    const { token } = await createViaForm(bob.b, { name: "bobs-private-key", access: "read", expires_in: "never" });
    const html = await (await alice.b.get("/keys")).text();
    expect(html).not.toContain(idOf(token!));
  });

  test("escapes key names", async () => {
    await createViaForm(alice.b, { name: "<b>bold</b>", access: "read", expires_in: "never" });
    const html = await (await alice.b.get("/keys")).text();
    expect(html).not.toContain("<b>bold</b>");
    expect(html).toContain("&lt;b&gt;bold&lt;/b&gt;");
  });
});

describe("creating a key", () => {
  test("read access shows the token once and stores scope mcp:read", async () => {
    const { res, token } = await createViaForm(alice.b, { name: "ci read", access: "read", expires_in: "never" });
    expect(res.status).toBe(200);
    expect(token).toMatch(tokenPattern);
    expect((await rowOf(idOf(token!)))!.scope).toBe("mcp:read");
  });

  test("full access stores scope 'mcp:read mcp:write'", async () => {
    const { token } = await createViaForm(alice.b, { name: "ci full", access: "full", expires_in: "never" });
    expect((await rowOf(idOf(token!)))!.scope).toBe("mcp:read mcp:write");
  });

  test("the created page's usage snippet, run with the new key, calls /mcp as its owner", async () => {
    const { html, token } = await createViaForm(alice.b, { name: "snippet", access: "read", expires_in: "never" });
    const snippet = /<code id="usage">([\s\S]*?)<\/code>/.exec(html)?.[1];
    expect(snippet).toBeDefined();
    expect(snippet).not.toContain(token!);
    const { url, headers, data } = curlOf(unescapeHtml(snippet!), { GATEHOUSE_API_KEY: token! });
    expect(url).toBe(`${app.url}/mcp`);
    const res = await app.send(new Request(url, { method: "POST", headers, body: data }));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("alice@example.com");
  });

  test("the created page is sent with Cache-Control: no-store", async () => {
    const { res } = await createViaForm(alice.b, { name: "cache", access: "read", expires_in: "never" });
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("stores only the SHA-256 hex of the secret", async () => {
    const { token } = await createViaForm(alice.b, { name: "hashed", access: "read", expires_in: "never" });
    const row = (await rowOf(idOf(token!)))!;
    const secret = token!.slice(-52);
    expect(row.secretHash).not.toBe(token!);
    expect(row.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.secretHash).toBe(sha256Hex(secret));
    const raw = await selectSql(app.db, sql`SELECT * FROM api_keys WHERE id = ${row.id}`);
    expect(raw).toHaveLength(1);
    expect(JSON.stringify(raw)).not.toContain(secret);
  });

  test("expires_in=30d sets expires_at 30 days after created_at", async () => {
    const { token } = await createViaForm(alice.b, { name: "monthly", access: "read", expires_in: "30d" });
    const row = (await rowOf(idOf(token!)))!;
    expect(row.expiresAt! - row.createdAt).toBe(30 * 86400);
  });

  test("expires_in=never leaves expires_at null", async () => {
    const { token } = await createViaForm(alice.b, { name: "forever", access: "read", expires_in: "never" });
    expect((await rowOf(idOf(token!)))!.expiresAt).toBeNull();
  });

  const bad: [string, Record<string, string>][] = [
    ["an empty name", { name: "", access: "read", expires_in: "never" }],
    ["a blank name", { name: "   ", access: "read", expires_in: "never" }],
    ["a 101-character name", { name: "x".repeat(101), access: "read", expires_in: "never" }],
    ["access=admin", { name: "admin try", access: "admin", expires_in: "never" }],
    ["expires_in=5y", { name: "five years", access: "read", expires_in: "5y" }],
    ["no access field", { name: "no access", expires_in: "never" }],
  ];
  for (const [what, form] of bad) {
    test(`with ${what} is 400 and stores no row`, async () => {
      const before = (await rowsOf(alice.id)).length;
      const { res, token } = await createViaForm(alice.b, form);
      expect(res.status).toBe(400);
      expect(token).toBeNull();
      expect((await rowsOf(alice.id)).length).toBe(before);
    });
  }

  test("a 100-character name is accepted", async () => {
    const { res } = await createViaForm(alice.b, { name: "y".repeat(100), access: "read", expires_in: "never" });
    expect(res.status).toBe(200);
  });
});

describe("key names", () => {
  test("a name one of your live keys has is refused: 400, the form drawn again with why, no row stored", async () => {
    await createViaForm(alice.b, { name: "deploy", access: "read", expires_in: "never" });
    const before = (await rowsOf(alice.id)).length;
    const { res, html, token } = await createViaForm(alice.b, { name: " Deploy ", access: "read", expires_in: "30d" });
    expect(res.status).toBe(400);
    expect(token).toBeNull();
    expect(html).toContain("There is already a live key named &quot;Deploy&quot;");
    expect(html).toMatch(/<input type="text" name="name" value=" Deploy "/);
    expect((await rowsOf(alice.id)).length).toBe(before);
  });

  test("another person's key of that name does not matter", async () => {
    await createViaForm(alice.b, { name: "shared name", access: "read", expires_in: "never" });
    const { res } = await createViaForm(bob.b, { name: "shared name", access: "read", expires_in: "never" });
    expect(res.status).toBe(200);
  });

  test("the name of a revoked key may be used again", async () => {
    const { token } = await createViaForm(alice.b, { name: "reused", access: "read", expires_in: "never" });
    expect(await revokeApiKey(app.db, { id: idOf(token!), ownerId: alice.id, now: nowSeconds() })).toBe(true);
    const { res } = await createViaForm(alice.b, { name: "reused", access: "read", expires_in: "never" });
    expect(res.status).toBe(200);
  });

  test("the name of an expired key may be used again", async () => {
    const created = nowSeconds() - 3 * 86400;
    await createApiKey(app.db, {
      userId: alice.id,
      name: "lapsed",
      access: "read",
      expiresInSeconds: 86400,
      now: created,
    });
    const again = await createApiKey(app.db, {
      userId: alice.id,
      name: "lapsed",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    expect(again.apiKey.name).toBe("lapsed");
  });
});

describe("revoking a key", () => {
  test("sets revoked_at on the row", async () => {
    const { token } = await createViaForm(alice.b, { name: "to revoke", access: "read", expires_in: "never" });
    const res = await alice.b.post(`/keys/${idOf(token!)}/revoke`, { csrf: await csrfOf(alice.b) });
    expect(res.status).toBe(303);
    expect((await rowOf(idOf(token!)))!.revokedAt).toBeNumber();
  });

  test("the revoked key no longer authenticates", async () => {
    const { token } = await createViaForm(alice.b, { name: "to revoke 2", access: "read", expires_in: "never" });
    expect(await authenticateApiKey(app.db, token!, nowSeconds())).not.toBeNull();
    await alice.b.post(`/keys/${idOf(token!)}/revoke`, { csrf: await csrfOf(alice.b) });
    expect(await authenticateApiKey(app.db, token!, nowSeconds())).toBeNull();
  });

  test("someone else's key is 404 and the key stays live", async () => {
    const { token } = await createViaForm(bob.b, { name: "bobs", access: "read", expires_in: "never" });
    const before = await rowOf(idOf(token!));
    const res = await alice.b.post(`/keys/${idOf(token!)}/revoke`, { csrf: await csrfOf(alice.b) });
    expect(res.status).toBe(404);
    expect(await rowOf(idOf(token!))).toEqual(before);
    expect(await authenticateApiKey(app.db, token!, nowSeconds())).not.toBeNull();
  });

  test("GET asks first, naming the key and what stops working, and changes nothing", async () => {
    const { token } = await createViaForm(alice.b, { name: "deploy <prod>", access: "read", expires_in: "never" });
    const res = await alice.b.get(`/keys/${idOf(token!)}/revoke`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<h1>Revoke “deploy &lt;prod&gt;”?</h1>");
    expect(html).toContain("get 401 at once");
    expect(html).toContain(`<form method="post" action="/keys/${idOf(token!)}/revoke"`);
    expect(html).toContain('<a class="button secondary" href="/keys">Cancel</a>');
    expect((await rowOf(idOf(token!)))!.revokedAt).toBeNull();
    expect(await authenticateApiKey(app.db, token!, nowSeconds())).not.toBeNull();
  });

  test("the confirmation counts the keys made with it, which end too", async () => {
    const base = { userId: alice.id, expiresInSeconds: null, now: nowSeconds() };
    const parent = await createApiKey(app.db, { ...base, name: "parent", access: "full" });
    await createApiKey(app.db, { ...base, name: "child", access: "read", createdWith: parent.apiKey });
    const html = await (await alice.b.get(`/keys/${parent.apiKey.id}/revoke`)).text();
    expect(html).toContain("What was made while signed in with it ends too: 1 key and 0 apps.");
  });

  test("GET for someone else's key or an unknown one is 404", async () => {
    const { token } = await createViaForm(bob.b, { name: "bobs to ask", access: "read", expires_in: "never" });
    expect((await alice.b.get(`/keys/${idOf(token!)}/revoke`)).status).toBe(404);
    expect((await alice.b.get("/keys/aaaaaaaaaaaaaaaa/revoke")).status).toBe(404);
  });

  test("POST redirects to /keys, which says what happened once", async () => {
    const { token } = await createViaForm(alice.b, { name: "reported", access: "read", expires_in: "never" });
    const res = await alice.b.post(`/keys/${idOf(token!)}/revoke`, { csrf: await csrfOf(alice.b) });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/keys");
    const first = await (await alice.b.get("/keys")).text();
    expect(first).toContain('<p class="flash" role="status">Revoked “reported”: anything using it now gets 401.</p>');
    expect(await (await alice.b.get("/keys")).text()).not.toContain('class="flash"');
  });

  test("an already revoked key is 404", async () => {
    const { token } = await createViaForm(alice.b, { name: "twice", access: "read", expires_in: "never" });
    await alice.b.post(`/keys/${idOf(token!)}/revoke`, { csrf: await csrfOf(alice.b) });
    const res = await alice.b.post(`/keys/${idOf(token!)}/revoke`, { csrf: await csrfOf(alice.b) });
    expect(res.status).toBe(404);
  });
});

describe("rotating a key", () => {
  async function rotate(b: Browser, id: string) {
    const res = await b.post(`/keys/${id}/rotate`, { csrf: await csrfOf(b) });
    const html = await res.text();
    return { res, token: tokenPattern.exec(html)?.[0] ?? null };
  }

  test("the old key stops authenticating", async () => {
    const { token } = await createViaForm(alice.b, { name: "rotating", access: "read", expires_in: "never" });
    const rotated = await rotate(alice.b, idOf(token!));
    expect(rotated.res.status).toBe(200);
    expect(await authenticateApiKey(app.db, token!, nowSeconds())).toBeNull();
  });

  test("the new key authenticates", async () => {
    const { token } = await createViaForm(alice.b, { name: "rotating 2", access: "read", expires_in: "never" });
    const rotated = await rotate(alice.b, idOf(token!));
    expect(rotated.token).not.toBe(token);
    expect((await authenticateApiKey(app.db, rotated.token!, nowSeconds()))?.user.id).toBe(alice.id);
  });

  test("the new key keeps the name, scope and lifetime", async () => {
    const { token } = await createViaForm(alice.b, { name: "same name", access: "full", expires_in: "90d" });
    const rotated = await rotate(alice.b, idOf(token!));
    const row = (await rowOf(idOf(rotated.token!)))!;
    expect([row.name, row.scope, row.expiresAt! - row.createdAt]).toEqual([
      "same name",
      "mcp:read mcp:write",
      90 * 86400,
    ]);
  });

  test("the rotated page is sent with Cache-Control: no-store", async () => {
    const { token } = await createViaForm(alice.b, { name: "rotating 3", access: "read", expires_in: "never" });
    expect((await rotate(alice.b, idOf(token!))).res.headers.get("cache-control")).toBe("no-store");
  });

  test("GET asks first, naming the key and what stops working, and changes nothing", async () => {
    const { token } = await createViaForm(alice.b, { name: "deploy <ci>", access: "read", expires_in: "never" });
    const res = await alice.b.get(`/keys/${idOf(token!)}/rotate`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<h1>Rotate “deploy &lt;ci&gt;”?</h1>");
    expect(html).toContain("Its current secret stops working at once");
    expect(html).toContain("shown once to copy");
    expect(html).toContain(`<form method="post" action="/keys/${idOf(token!)}/rotate"`);
    expect(html).toContain('<a class="button secondary" href="/keys">Cancel</a>');
    expect((await rowOf(idOf(token!)))!.revokedAt).toBeNull();
    expect(await authenticateApiKey(app.db, token!, nowSeconds())).not.toBeNull();
  });

  test("the confirmation counts the keys made with it, which end too", async () => {
    const base = { userId: alice.id, expiresInSeconds: null, now: nowSeconds() };
    const parent = await createApiKey(app.db, { ...base, name: "rotated parent", access: "full" });
    await createApiKey(app.db, { ...base, name: "rotated child", access: "read", createdWith: parent.apiKey });
    const html = await (await alice.b.get(`/keys/${parent.apiKey.id}/rotate`)).text();
    expect(html).toContain("What was made while signed in with it ends too: 1 key and 0 apps.");
  });

  test("GET for someone else's key, an unknown one or a revoked one is 404", async () => {
    const { token } = await createViaForm(bob.b, { name: "bobs to rotate", access: "read", expires_in: "never" });
    const mine = await createViaForm(alice.b, { name: "gone", access: "read", expires_in: "never" });
    await alice.b.post(`/keys/${idOf(mine.token!)}/revoke`, { csrf: await csrfOf(alice.b) });
    for (const id of [idOf(token!), "aaaaaaaaaaaaaaaa", idOf(mine.token!)]) {
      const res = await alice.b.get(`/keys/${id}/rotate`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain("That key does not exist or is already revoked.");
    }
  });

  test("the new secret is the POST's answer (shown once), with a status line saying what happened", async () => {
    const { token } = await createViaForm(alice.b, { name: "said", access: "read", expires_in: "never" });
    const res = await alice.b.post(`/keys/${idOf(token!)}/rotate`, { csrf: await csrfOf(alice.b) });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<p class="flash" role="status">Rotated “said”: the old secret has stopped working.</p>');
    expect(html).toMatch(tokenPattern);
    // Nothing is left for the next page: the secret and the report were this answer.
    expect(await (await alice.b.get("/keys")).text()).not.toContain('class="flash"');
  });

  test("resubmitting the rotation is 404 and makes no second key", async () => {
    const { token } = await createViaForm(alice.b, { name: "resubmitted", access: "read", expires_in: "never" });
    const csrf = await csrfOf(alice.b);
    const first = await alice.b.post(`/keys/${idOf(token!)}/rotate`, { csrf });
    const shown = tokenPattern.exec(await first.text())![0];
    const again = await alice.b.post(`/keys/${idOf(token!)}/rotate`, { csrf });
    expect(again.status).toBe(404);
    expect(await again.text()).not.toMatch(tokenPattern);
    const live = (await rowsOf(alice.id)).filter((r) => r.name === "resubmitted" && r.revokedAt === null);
    expect(live.map((r) => r.id)).toEqual([idOf(shown)]);
    expect((await authenticateApiKey(app.db, shown, nowSeconds()))?.user.id).toBe(alice.id);
  });

  test("someone else's key is 404 and the key stays live", async () => {
    const { token } = await createViaForm(bob.b, { name: "bobs rotate", access: "read", expires_in: "never" });
    const before = await rowsOf(bob.id);
    const rotated = await rotate(alice.b, idOf(token!));
    expect(rotated.res.status).toBe(404);
    expect(await rowsOf(bob.id)).toEqual(before);
    expect((await rowsOf(alice.id)).some((r) => r.name === "bobs rotate")).toBe(false);
  });
});

describe("last_used_at", () => {
  afterEach(() => {
    setSystemTime();
  });

  test("is written at most once a minute", async () => {
    const { apiKey, token } = await createApiKey(app.db, {
      userId: alice.id,
      name: "timed",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const start = new Date("2030-01-01T00:00:00Z");
    setSystemTime(start);
    await authenticateApiKey(app.db, token, nowSeconds());
    const first = (await rowOf(apiKey.id))!.lastUsedAt;
    setSystemTime(new Date(start.getTime() + 59_000));
    await authenticateApiKey(app.db, token, nowSeconds());
    expect(first).toBe(start.getTime() / 1000);
    expect((await rowOf(apiKey.id))!.lastUsedAt).toBe(first);
  });

  test("is written again once a minute has passed", async () => {
    const { apiKey, token } = await createApiKey(app.db, {
      userId: alice.id,
      name: "timed 2",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const start = new Date("2030-01-01T00:00:00Z");
    setSystemTime(start);
    await authenticateApiKey(app.db, token, nowSeconds());
    setSystemTime(new Date(start.getTime() + 60_000));
    await authenticateApiKey(app.db, token, nowSeconds());
    expect((await rowOf(apiKey.id))!.lastUsedAt).toBe(start.getTime() / 1000 + 60);
  });

  test("is written by signing in with the key", async () => {
    const { apiKey, token } = await createApiKey(app.db, {
      userId: alice.id,
      name: "timed 3",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const start = new Date("2030-01-01T00:00:00Z");
    setSystemTime(start);
    const b = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    expect((await b.post("/sign-in/key", { csrf, api_key: token })).status).toBe(303);
    expect((await rowOf(apiKey.id))!.lastUsedAt).toBe(start.getTime() / 1000);
  });
});
