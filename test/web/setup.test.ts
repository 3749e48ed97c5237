import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { issueSetupToken } from "../../src/accounts/setup-link.ts";
import { countUsers } from "../../src/accounts/users-store.ts";
import { createUser } from "../../src/accounts/users.ts";
import { hashSecret } from "../../src/security/tokens.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";

const setupToken = "setup-token-for-tests-0123456789";
const password = "a long enough password";

let app: TestApp;
beforeEach(async () => {
  app = await createTestApp({ setupToken, listen: false });
});
afterEach(() => app.close());

async function openSetup(b: Browser, token = setupToken) {
  const res = await b.get(`/setup?token=${encodeURIComponent(token)}`);
  return { res, html: await res.text() };
}

async function postSetup(form: Record<string, string>) {
  const b = new Browser(app.url, app.send);
  // The form token comes from any page; the sign-in page works even when the link is dead.
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  const res = await b.post("/setup", { csrf, token: setupToken, ...form });
  return { b, res };
}

describe("the setup link", () => {
  test("shows the form with the token and a csrf field", async () => {
    const { res, html } = await openSetup(new Browser(app.url, app.send));
    expect(res.status).toBe(200);
    expect(html).toContain('action="/setup"');
    expect(html).toContain(`name="token" value="${setupToken}"`);
    expect(() => Browser.csrfOf(html)).not.toThrow();
  });

  test("is not cached", async () => {
    const { res } = await openSetup(new Browser(app.url, app.send));
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("with a wrong token is a 404 page", async () => {
    const { res, html } = await openSetup(new Browser(app.url, app.send), "setup-token-for-tests-0123456780");
    expect(res.status).toBe(404);
    expect(html).not.toContain('action="/setup"');
  });

  test("without a token is a 404 page", async () => {
    const res = await new Browser(app.url, app.send).get("/setup");
    expect(res.status).toBe(404);
  });

  test("with a wrong token refuses the post and stores nothing", async () => {
    const { res } = await postSetup({ token: "nope", email: "root@example.com", password });
    expect(res.status).toBe(404);
    expect(await countUsers(app.db)).toBe(0);
  });
});

describe("creating the first admin", () => {
  test("stores one admin user and a session for them", async () => {
    const { sessions, users } = app.db.tables;
    const { res } = await postSetup({ email: "Root@Example.com", password });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/keys");
    const stored = await app.db.select().from(users);
    expect(stored.map((u) => [u.email, u.isAdmin])).toEqual([["root@example.com", true]]);
    expect((await app.db.select().from(sessions)).map((s) => s.userId)).toEqual([stored[0]!.id]);
  });

  test("stores an argon2id hash, not the password", async () => {
    const { users } = app.db.tables;
    await postSetup({ email: "root@example.com", password });
    const [user] = await app.db.select().from(users);
    expect(user!.passwordHash).toStartWith("$argon2id$");
    expect(await Bun.password.verify(password, user!.passwordHash!)).toBe(true);
  });

  test("hashes at the configured argon2id cost (config.passwordHashCost)", async () => {
    const { users } = app.db.tables;
    await postSetup({ email: "root@example.com", password });
    const [user] = await app.db.select().from(users);
    const { memoryKib, iterations } = app.config.passwordHashCost;
    expect(user!.passwordHash).toStartWith(`$argon2id$v=19$m=${memoryKib},t=${iterations},p=1$`);
  });

  test("with a bad email is 400 and stores nothing", async () => {
    const { res } = await postSetup({ email: "not-an-email", password });
    expect(res.status).toBe(400);
    expect(await countUsers(app.db)).toBe(0);
  });

  test("with a short password is 400 and stores nothing", async () => {
    const { res } = await postSetup({ email: "root@example.com", password: "short pass" });
    expect(res.status).toBe(400);
    expect(await countUsers(app.db)).toBe(0);
  });

  test("with a missing password is 400 and stores nothing", async () => {
    const { res } = await postSetup({ email: "root@example.com" });
    expect(res.status).toBe(400);
    expect(await countUsers(app.db)).toBe(0);
  });

  test("a failed attempt leaves the link working", async () => {
    await postSetup({ email: "root@example.com", password: "short" });
    const { res } = await openSetup(new Browser(app.url, app.send));
    expect(res.status).toBe(200);
  });
});

describe("a link issued at a server's start (issue 16: any instance)", () => {
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  test("works on an app that did not issue it, and only its hash is stored", async () => {
    const t = await createTestApp({ listen: false });
    try {
      const token = (await issueSetupToken(t.db, nowSeconds()))!;
      const { res } = await openSetup(new Browser(t.url, t.send), token);
      expect(res.status).toBe(200);
      const stored = await t.db.select().from(t.db.tables.setupTokens);
      expect(stored.map((row) => row.hash)).toEqual([hashSecret(token)]);
    } finally {
      await t.close();
    }
  });

  test("a second start's link leaves the first one working", async () => {
    const first = (await issueSetupToken(app.db, nowSeconds()))!;
    const second = (await issueSetupToken(app.db, nowSeconds()))!;
    expect(second).not.toBe(first);
    for (const token of [first, second, setupToken]) {
      expect((await openSetup(new Browser(app.url, app.send), token)).res.status).toBe(200);
    }
  });

  test("none is issued while an admin exists", async () => {
    await postSetup({ email: "root@example.com", password });
    expect(await issueSetupToken(app.db, nowSeconds())).toBeNull();
    expect(await app.db.select().from(app.db.tables.setupTokens)).toEqual([]);
  });

  test("creating the first admin deletes every link, whichever start issued it", async () => {
    const other = (await issueSetupToken(app.db, nowSeconds()))!;
    expect((await postSetup({ email: "root@example.com", password })).res.status).toBe(303);
    expect(await app.db.select().from(app.db.tables.setupTokens)).toEqual([]);
    expect((await openSetup(new Browser(app.url, app.send), other)).res.status).toBe(404);
  });

  test("an admin made by invitation or the CLI deletes them too", async () => {
    await createUser(app.db, { email: "cli@example.com", password, isAdmin: true, now: nowSeconds() });
    expect(await app.db.select().from(app.db.tables.setupTokens)).toEqual([]);
  });

  test("a person who is not an admin leaves them", async () => {
    await createUser(app.db, { email: "someone@example.com", password, isAdmin: false, now: nowSeconds() });
    expect(await app.db.select().from(app.db.tables.setupTokens)).toHaveLength(1);
  });
});

describe("after an admin exists", () => {
  test("the link is a 404 page even with the right token", async () => {
    await postSetup({ email: "root@example.com", password });
    const { res } = await openSetup(new Browser(app.url, app.send));
    expect(res.status).toBe(404);
  });

  test("posting with the right token is 404 and stores no second admin", async () => {
    await postSetup({ email: "root@example.com", password });
    const { res } = await postSetup({ email: "second@example.com", password });
    expect(res.status).toBe(404);
    expect(await countUsers(app.db)).toBe(1);
  });

  test("an admin created another way (CLI) also kills the link", async () => {
    await createUser(app.db, {
      email: "cli@example.com",
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: true,
      now: Math.floor(Date.now() / 1000),
    });
    const { res } = await openSetup(new Browser(app.url, app.send));
    expect(res.status).toBe(404);
  });
});

describe("without a setup token", () => {
  test("GET /setup is 404", async () => {
    const t = await createTestApp({ setupToken: null, listen: false });
    try {
      expect((await new Browser(t.url, t.send).get("/setup?token=")).status).toBe(404);
      expect((await new Browser(t.url, t.send).get("/setup?token=null")).status).toBe(404);
    } finally {
      await t.close();
    }
  });

  test("POST /setup is 404 and stores nothing", async () => {
    const t = await createTestApp({ setupToken: null, listen: false });
    try {
      const b = new Browser(t.url, t.send);
      const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
      const res = await b.post("/setup", { csrf, token: "", email: "root@example.com", password });
      expect(res.status).toBe(404);
      expect(await countUsers(t.db)).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe("two setup forms sent at once", () => {
  test("make exactly one admin", async () => {
    const { users } = app.db.tables;
    const results = await Promise.all([
      postSetup({ email: "first@example.com", password }),
      postSetup({ email: "second@example.com", password }),
    ]);
    const statuses = results.map((r) => r.res.status).sort();
    expect(statuses[0]).toBe(303);
    // 400 when both passed the link check and the insert refused the second; 404 when it came late.
    expect([400, 404]).toContain(statuses[1]!);
    expect((await app.db.select().from(users)).filter((u) => u.isAdmin)).toHaveLength(1);
  });
});
