import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createUser, disableUser } from "../../src/accounts/users.ts";
import { createApiKey, revokeApiKey } from "../../src/keys/api-keys.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { addClient, authorizePath } from "../oauth/authorize-fixture.ts";
import { nowSeconds } from "../support/clock.ts";

/** Keys made so far: each gets its own name, as a person's live keys must. */
let keysMade = 0;
const password = "correct horse battery staple";

let app: TestApp;
let userId: string;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  userId = (
    await createUser(app.db, {
      email: "alice@example.com",
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: false,
      now: nowSeconds(),
    })
  ).id;
});
afterAll(() => app.close());

async function csrfOf(b: Browser): Promise<string> {
  return Browser.csrfOf(await (await b.get("/sign-in")).text());
}

async function signInWithPassword(
  target: TestApp,
  form: Record<string, string>,
  b = new Browser(target.url, target.send),
) {
  const res = await b.post("/sign-in", { csrf: await csrfOf(b), ...form });
  return { b, res };
}

async function signInWithKey(target: TestApp, apiKey: string, b = new Browser(target.url, target.send)) {
  const res = await b.post("/sign-in/key", { csrf: await csrfOf(b), api_key: apiKey });
  return { b, res };
}

function errorOf(html: string): string {
  return /<p class="error" role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1] ?? "";
}

function newKey(opts: { expiresInSeconds?: number | null; now?: number } = {}) {
  return createApiKey(app.db, {
    userId,
    name: `laptop ${++keysMade}`,
    access: "read",
    expiresInSeconds: opts.expiresInSeconds ?? null,
    now: opts.now ?? nowSeconds(),
  });
}

async function sessionsOfKey(apiKeyId: string) {
  const { sessions } = app.db.tables;
  return await app.db.select().from(sessions).where(eq(sessions.apiKeyId, apiKeyId));
}

describe("password sign-in", () => {
  test("right password redirects 303 to a safe next path", async () => {
    const { res } = await signInWithPassword(app, { email: "alice@example.com", password, next: "/keys?tab=1" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/keys?tab=1");
  });

  test("right password stores a session row without an api key", async () => {
    const { sessions } = app.db.tables;
    const before = (await app.db.select().from(sessions).where(eq(sessions.userId, userId))).length;
    const { b } = await signInWithPassword(app, { email: "Alice@Example.com ", password });
    const rows = await app.db.select().from(sessions).where(eq(sessions.userId, userId));
    expect(rows.length).toBe(before + 1);
    expect(rows.every((r) => r.apiKeyId === null)).toBe(true);
    expect((await b.get("/keys")).status).toBe(200);
  });

  test("wrong password gets 401 and no session cookie", async () => {
    const { res } = await signInWithPassword(app, { email: "alice@example.com", password: "not the password at all" });
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie().some((c) => c.startsWith("gatehouse_session="))).toBe(false);
  });

  test("unknown email and wrong password give the same error text", async () => {
    const b = new Browser(app.url, app.send);
    const unknown = await signInWithPassword(app, { email: "nobody@example.com", password }, b);
    const wrong = await signInWithPassword(app, { email: "alice@example.com", password: "wrong wrong wrong" }, b);
    expect(unknown.res.status).toBe(401);
    expect(wrong.res.status).toBe(401);
    const [a, c] = [await unknown.res.text(), await wrong.res.text()];
    expect(errorOf(a)).not.toBe("");
    expect(errorOf(a)).toBe(errorOf(c));
    // Apart from the echoed address the two pages are byte-for-byte the same.
    expect(a.replaceAll("nobody@example.com", "EMAIL")).toBe(c.replaceAll("alice@example.com", "EMAIL"));
  });

  test("a disabled user gets 401 with the right password", async () => {
    await createUser(app.db, {
      email: "gone@example.com",
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: false,
      now: nowSeconds(),
    });
    await disableUser(app.db, "gone@example.com", nowSeconds());
    const { res } = await signInWithPassword(app, { email: "gone@example.com", password });
    expect(res.status).toBe(401);
    expect(errorOf(await res.text())).toBe("Incorrect email or password.");
  });
});

describe("open-redirect protection on next", () => {
  for (const next of ["//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)", "/%5Cevil.com/../\\x"]) {
    test(`next=${next} ends at /`, async () => {
      const { res } = await signInWithPassword(app, { email: "alice@example.com", password, next });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/");
    });
  }
});

describe("throttling", () => {
  test("after 5 failures for an email the right password gets 429 with Retry-After", async () => {
    const { sessions } = app.db.tables;
    const t = await createTestApp({ listen: false });
    try {
      await createUser(t.db, {
        email: "bob@example.com",
        password,
        passwordCost: t.config.passwordHashCost,
        isAdmin: false,
        now: nowSeconds(),
      });
      const b = new Browser(t.url, t.send);
      for (let i = 0; i < 5; i++) {
        const { res } = await signInWithPassword(t, { email: "bob@example.com", password: `wrong guess ${i}` }, b);
        expect(res.status).toBe(401);
      }
      const { res } = await signInWithPassword(t, { email: "BOB@example.com", password }, b);
      expect(res.status).toBe(429);
      const retry = Number(res.headers.get("retry-after"));
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(15 * 60);
      expect((await t.db.select().from(sessions)).length).toBe(0);
    } finally {
      await t.close();
    }
  });

  test("a throttled password form says so in itself, and the API key form stays usable", async () => {
    const t = await createTestApp({ listen: false });
    try {
      const dave = await createUser(t.db, {
        email: "dave@example.com",
        password,
        passwordCost: t.config.passwordHashCost,
        isAdmin: false,
        now: nowSeconds(),
      });
      const b = new Browser(t.url, t.send);
      for (let i = 0; i < 5; i++) await signInWithPassword(t, { email: "dave@example.com", password: `wrong ${i}` }, b);
      const { res } = await signInWithPassword(t, { email: "dave@example.com", password }, b);
      const html = await res.text();
      expect(res.status).toBe(429);
      const passwordForm = /<form[^>]*id="password-sign-in"[^>]*>([\s\S]*?)<\/form>/.exec(html)?.[1] ?? "";
      expect(errorOf(passwordForm)).toStartWith("Too many failed sign-ins.");
      expect(html).toContain('action="/sign-in/key"');
      const { token } = await createApiKey(t.db, {
        userId: dave.id,
        name: "laptop",
        access: "read",
        expiresInSeconds: null,
        now: nowSeconds(),
      });
      const { res: keyRes } = await signInWithKey(t, token, b);
      expect(keyRes.status).toBe(303);
    } finally {
      await t.close();
    }
  });

  test("20 failures from one address across different emails throttle every account", async () => {
    const t = await createTestApp({ listen: false });
    try {
      await createUser(t.db, {
        email: "carol@example.com",
        password,
        passwordCost: t.config.passwordHashCost,
        isAdmin: false,
        now: nowSeconds(),
      });
      const b = new Browser(t.url, t.send);
      for (let i = 0; i < 20; i++) {
        const { res } = await signInWithPassword(t, { email: `user${i}@example.com`, password }, b);
        expect(res.status).toBe(401);
      }
      const { res } = await signInWithPassword(t, { email: "carol@example.com", password }, b);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });
});

describe("API key sign-in", () => {
  test("a pasted key signs in and the session row carries api_key_id", async () => {
    const { apiKey, token } = await newKey();
    const { b, res } = await signInWithKey(app, token);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
    expect((await sessionsOfKey(apiKey.id)).length).toBe(1);
    expect((await b.get("/keys")).status).toBe(200);
  });

  test("a key session ends no later than the key expires", async () => {
    const { apiKey, token } = await newKey({ expiresInSeconds: 3600 });
    await signInWithKey(app, token);
    expect((await sessionsOfKey(apiKey.id))[0]!.expiresAt).toBe(apiKey.expiresAt!);
  });

  test("an expired key cannot sign in", async () => {
    const { apiKey, token } = await newKey({ expiresInSeconds: 86400, now: nowSeconds() - 2 * 86400 });
    const { res } = await signInWithKey(app, token);
    expect(res.status).toBe(401);
    expect((await sessionsOfKey(apiKey.id)).length).toBe(0);
  });

  test("revoking the key from another session ends the key's session", async () => {
    const { apiKey, token } = await newKey();
    const keyed = await signInWithKey(app, token);
    const owner = await signInWithPassword(app, { email: "alice@example.com", password });
    const csrf = Browser.csrfOf(await (await owner.b.get("/keys")).text());
    const revoke = await owner.b.post(`/keys/${apiKey.id}/revoke`, { csrf });
    expect(revoke.status).toBe(303);
    expect(revoke.headers.get("location")).toBe("/keys");
    const after = await keyed.b.get("/keys");
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/sign-in?next=%2Fkeys");
    expect((await sessionsOfKey(apiKey.id)).length).toBe(0);
  });

  test("revoking the key a session was opened with sends that session to /sign-in", async () => {
    const { apiKey, token } = await newKey();
    const { b } = await signInWithKey(app, token);
    const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
    const res = await b.post(`/keys/${apiKey.id}/revoke`, { csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/sign-in");
    expect((await sessionsOfKey(apiKey.id)).length).toBe(0);
  });

  test("revoking the key with the service ends the key's session", async () => {
    const { apiKey, token } = await newKey();
    const { b } = await signInWithKey(app, token);
    expect(await revokeApiKey(app.db, { id: apiKey.id, ownerId: null, now: nowSeconds() })).toBe(true);
    const after = await b.get("/keys");
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/sign-in?next=%2Fkeys");
    expect((await sessionsOfKey(apiKey.id)).length).toBe(0);
  });

  test("rotating the key ends the key's session", async () => {
    const { apiKey, token } = await newKey();
    const keyed = await signInWithKey(app, token);
    const owner = await signInWithPassword(app, { email: "alice@example.com", password });
    const csrf = Browser.csrfOf(await (await owner.b.get("/keys")).text());
    expect((await owner.b.post(`/keys/${apiKey.id}/rotate`, { csrf })).status).toBe(200);
    expect((await keyed.b.get("/keys")).status).toBe(303);
    expect((await sessionsOfKey(apiKey.id)).length).toBe(0);
  });
});

describe("sign-out", () => {
  test("deletes the session row", async () => {
    const { sessions } = app.db.tables;
    const { b } = await signInWithPassword(app, { email: "alice@example.com", password });
    const sessionId = b.cookies.get("gatehouse_session")!.split("_")[0]!;
    expect((await app.db.select().from(sessions).where(eq(sessions.id, sessionId))).length).toBe(1);
    const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
    const res = await b.post("/sign-out", { csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/sign-in");
    expect((await app.db.select().from(sessions).where(eq(sessions.id, sessionId))).length).toBe(0);
  });

  test("clears the session cookie", async () => {
    const { b } = await signInWithPassword(app, { email: "alice@example.com", password });
    const stolen = b.cookies.get("gatehouse_session")!;
    const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
    const res = await b.post("/sign-out", { csrf });
    const cleared = res.headers.getSetCookie().find((c) => c.startsWith("gatehouse_session="));
    expect(cleared).toMatch(/^gatehouse_session=;.*Max-Age=0/);
    // The old cookie value is dead on the server too, not only in this browser.
    const replay = new Browser(app.url, app.send);
    replay.cookies.set("gatehouse_session", stolen);
    expect((await replay.get("/keys")).status).toBe(303);
  });
});

describe("coming from an app's authorization", () => {
  test("the page names the app the sign-in continues to, escaped", async () => {
    const client = await addClient(app, { name: "<b>Claude</b>" });
    const next = encodeURIComponent(authorizePath(client.id));
    const html = await (await new Browser(app.url, app.send).get(`/sign-in?next=${next}`)).text();
    expect(html).toContain("to continue to <strong>&lt;b&gt;Claude&lt;/b&gt;</strong>");
  });

  test("an unknown client, or another next, names no app", async () => {
    const b = new Browser(app.url, app.send);
    const unknown = await (await b.get(`/sign-in?next=${encodeURIComponent(authorizePath("nobody"))}`)).text();
    expect(unknown).not.toContain('id="continue-to"');
    expect(await (await b.get("/sign-in?next=/keys")).text()).not.toContain('id="continue-to"');
  });
});

describe("the first start", () => {
  test("before any admin exists, the sign-in page says where the first one comes from; after, it does not", async () => {
    const fresh = await createTestApp({ listen: false });
    try {
      const before = await (await new Browser(fresh.url, fresh.send).get("/sign-in")).text();
      expect(before).toContain('id="first-start"');
      expect(before).toContain("setup_url");
      expect(before).toContain("gatehouse user add --email you@example.com --admin");
      await createUser(fresh.db, {
        email: "admin@example.com",
        password,
        passwordCost: fresh.config.passwordHashCost,
        isAdmin: true,
        now: nowSeconds(),
      });
      const after = await (await new Browser(fresh.url, fresh.send).get("/sign-in")).text();
      expect(after).not.toContain('id="first-start"');
    } finally {
      await fresh.close();
    }
  });
});
