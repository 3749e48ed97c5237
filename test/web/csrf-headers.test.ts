import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { openSession } from "../../src/accounts/sessions.ts";
import { insertUser } from "../support/rows.ts";
import { hashPassword } from "../../src/accounts/users.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { randomString } from "../../src/security/tokens.ts";
import { Browser, createTestApp, testPasswordHashCost, type TestApp } from "../helpers.ts";
import { nowSeconds } from "../support/clock.ts";
import { selectSql } from "../support/sql.ts";

const password = "correct horse battery staple";
const passwordHash = await hashPassword(password, testPasswordHashCost);
const setupToken = "setup-token-for-tests-0123456789";

/** A user with a password, a live API key and a signed-in browser holding a form token. */
async function fixture(app: TestApp) {
  const userId = randomString(10);
  await insertUser(app.db, {
    id: userId,
    email: "alice@example.com",
    passwordHash,
    isAdmin: false,
    createdAt: nowSeconds(),
    disabledAt: null,
  });
  const key = await createApiKey(app.db, {
    userId,
    name: "laptop",
    access: "read",
    expiresInSeconds: null,
    now: nowSeconds(),
  });
  const b = new Browser(app.url, app.send);
  b.cookies.set(
    "gatehouse_session",
    (await openSession(app.db, { userId, apiKeyId: null, apiKeyExpiresAt: null, now: nowSeconds() })).token,
  );
  const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
  return { b, csrf, keyId: key.apiKey.id, keyToken: key.token };
}
type Fixture = Awaited<ReturnType<typeof fixture>>;

/** Every table the forms can change, as one comparable value. */
async function snapshot(app: TestApp): Promise<string> {
  const q = (table: string) => selectSql(app.db, sql`SELECT * FROM ${sql.identifier(table)} ORDER BY id`);
  return JSON.stringify({ users: await q("users"), sessions: await q("sessions"), apiKeys: await q("api_keys") });
}

const forms: { name: string; path: (fx: Fixture) => string; fields: (fx: Fixture) => Record<string, string> }[] = [
  { name: "/sign-in", path: () => "/sign-in", fields: () => ({ email: "alice@example.com", password }) },
  { name: "/sign-in/key", path: () => "/sign-in/key", fields: (fx) => ({ api_key: fx.keyToken }) },
  { name: "/sign-out", path: () => "/sign-out", fields: () => ({}) },
  { name: "/setup", path: () => "/setup", fields: () => ({ token: setupToken, email: "root@example.com", password }) },
  { name: "/keys", path: () => "/keys", fields: () => ({ name: "new key", access: "full", expires_in: "never" }) },
  { name: "/keys/:id/revoke", path: (fx) => `/keys/${fx.keyId}/revoke`, fields: () => ({}) },
  { name: "/keys/:id/rotate", path: (fx) => `/keys/${fx.keyId}/rotate`, fields: () => ({}) },
];

/** Ways a forged post can look; each sends the form from the fixture's browser. */
const forgeries: {
  name: string;
  send: (app: TestApp, fx: Fixture, path: string, fields: Record<string, string>) => Promise<Response>;
}[] = [
  { name: "the csrf token is missing", send: (_, fx, path, fields) => fx.b.post(path, fields) },
  {
    name: "the csrf token is wrong",
    send: (_, fx, path, fields) => fx.b.post(path, { ...fields, csrf: "a".repeat(26) }),
  },
  {
    name: "the browser has no csrf cookie",
    send: (app, fx, path, fields) => {
      const b = new Browser(app.url, app.send);
      b.cookies.set("gatehouse_session", fx.b.cookies.get("gatehouse_session")!);
      return b.post(path, { ...fields, csrf: fx.csrf });
    },
  },
  {
    name: "Origin is a foreign origin",
    send: (_, fx, path, fields) => fx.b.post(path, { ...fields, csrf: fx.csrf }, { origin: "https://evil.example" }),
  },
  {
    name: "Origin is null",
    send: (_, fx, path, fields) => fx.b.post(path, { ...fields, csrf: fx.csrf }, { origin: "null" }),
  },
  {
    name: "Sec-Fetch-Site is cross-site without Origin",
    send: (_, fx, path, fields) =>
      fx.b.request(path, {
        method: "POST",
        body: new URLSearchParams({ ...fields, csrf: fx.csrf }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "cross-site" },
      }),
  },
];

describe("form posts", () => {
  let app: TestApp;
  let fx: Fixture;
  beforeEach(async () => {
    app = await createTestApp({ setupToken, listen: false });
    fx = await fixture(app);
  });
  afterEach(() => app.close());

  for (const form of forms) {
    test(`${form.name} is accepted with a valid token from our origin`, async () => {
      const before = await snapshot(app);
      const res = await fx.b.post(form.path(fx), { ...form.fields(fx), csrf: fx.csrf });
      expect(res.status).not.toBe(403);
      expect(await snapshot(app)).not.toBe(before);
    });

    // What Chromium sends for our own form under Referrer-Policy: no-referrer.
    test(`${form.name} is accepted with Origin null when Sec-Fetch-Site is same-origin`, async () => {
      const before = await snapshot(app);
      const res = await fx.b.post(
        form.path(fx),
        { ...form.fields(fx), csrf: fx.csrf },
        { origin: "null", "sec-fetch-site": "same-origin" },
      );
      expect(res.status).not.toBe(403);
      expect(await snapshot(app)).not.toBe(before);
    });

    for (const forgery of forgeries) {
      test(`${form.name} is refused with 403 and changes nothing when ${forgery.name}`, async () => {
        const before = await snapshot(app);
        const res = await forgery.send(app, fx, form.path(fx), form.fields(fx));
        expect(res.status).toBe(403);
        expect(await snapshot(app)).toBe(before);
      });
    }
  }
});

describe("response headers", () => {
  let app: TestApp;
  let signedIn: Browser;
  beforeAll(async () => {
    app = await createTestApp({ setupToken, listen: false });
    signedIn = (await fixture(app)).b;
  });
  afterAll(() => app.close());

  const requests: [string, () => Promise<Response>][] = [
    ["GET /sign-in", () => app.request("/sign-in")],
    ["GET / (redirect)", () => app.request("/", { redirect: "manual" })],
    ["GET /keys signed out (redirect)", () => app.request("/keys", { redirect: "manual" })],
    ["GET /keys signed in", () => signedIn.get("/keys")],
    ["GET /setup with a bad token (404)", () => app.request("/setup?token=bad")],
    ["GET /healthz", () => app.request("/healthz")],
    ["GET /readyz", () => app.request("/readyz")],
    ["GET /assets/style.css", () => app.request("/assets/style.css")],
    ["GET /assets/missing.css (404)", () => app.request("/assets/missing.css")],
    ["GET /no/such/page (404)", () => app.request("/no/such/page")],
    [
      "POST /sign-in refused (403)",
      () => app.request("/sign-in", { method: "POST", body: new URLSearchParams({ email: "x" }) }),
    ],
    [
      "POST /sign-in unreadable (400)",
      () => app.request("/sign-in", { method: "POST", headers: { "content-type": "application/json" }, body: "{" }),
    ],
  ];

  for (const [name, send] of requests) {
    test(`${name} carries the security headers and a request id`, async () => {
      const res = await send();
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-request-id")).toMatch(/^[a-z2-7]{8}-[0-9a-z]+$/);
    });
  }

  test("the CSP allows no inline script or style", async () => {
    const csp = (await app.request("/sign-in")).headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
  });

  test("requests without an X-Request-Id get ids of their own, unique within the process", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add((await app.request("/healthz")).headers.get("x-request-id")!);
    expect(ids.size).toBe(3);
    expect(new Set([...ids].map((id) => id.split("-")[0])).size).toBe(1);
  });

  test("a safe incoming X-Request-Id is echoed", async () => {
    const res = await app.request("/healthz", { headers: { "x-request-id": "trace-42.abc_DEF" } });
    expect(res.headers.get("x-request-id")).toBe("trace-42.abc_DEF");
  });

  for (const unsafe of ["has space", "<script>", "a".repeat(65), "semi;colon", "ünïcode"]) {
    test(`an unsafe incoming X-Request-Id (${unsafe.slice(0, 12)}) is replaced`, async () => {
      const res = await app.request("/healthz", { headers: { "x-request-id": unsafe } });
      expect(res.headers.get("x-request-id")).toMatch(/^[a-z2-7]{8}-[0-9a-z]+$/);
    });
  }

  test("an unknown path is a 404 HTML page", async () => {
    const res = await app.request("/no/such/page");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    expect(await res.text()).toStartWith("<!doctype html>");
  });

  test("the csrf cookie is HttpOnly and SameSite=Lax", async () => {
    const cookie = (await app.request("/sign-in")).headers.getSetCookie().find((c) => c.startsWith("gatehouse_csrf="));
    expect(cookie).toMatch(/; HttpOnly(;|$)/);
    expect(cookie).toMatch(/; SameSite=Lax(;|$)/);
  });

  test("the session cookie is HttpOnly and SameSite=Lax", async () => {
    const b = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    const res = await b.post("/sign-in", { csrf, email: "alice@example.com", password });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("gatehouse_session="));
    expect(cookie).toMatch(/; HttpOnly(;|$)/);
    expect(cookie).toMatch(/; SameSite=Lax(;|$)/);
  });

  test("cookies on plain http loopback are not marked Secure", async () => {
    const cookies = (await app.request("/sign-in")).headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    expect(cookies.some((c) => /; Secure/i.test(c))).toBe(false);
  });
});

describe("behind https", () => {
  const publicUrl = "https://gatehouse.example.com";
  let app: TestApp;
  let base: string;
  beforeAll(async () => {
    app = await createTestApp({ env: { GATEHOUSE_PUBLIC_URL: publicUrl }, listen: false });
    base = `http://127.0.0.1:${app.config.port}`;
    await insertUser(app.db, {
      id: "u1",
      email: "alice@example.com",
      passwordHash,
      isAdmin: false,
      createdAt: nowSeconds(),
      disabledAt: null,
    });
  });
  afterAll(() => app.close());

  async function signIn() {
    const b = new Browser(base, app.send);
    const page = await b.get("/sign-in");
    const csrf = Browser.csrfOf(await page.text());
    const res = await b.post("/sign-in", { csrf, email: "alice@example.com", password }, { origin: publicUrl });
    return { b, page, csrf, res };
  }

  test("the csrf cookie is __Host- prefixed, Secure, Path=/ and has no Domain", async () => {
    const { page } = await signIn();
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith("__Host-gatehouse_csrf="));
    expect(cookie).toMatch(/; Secure(;|$)/);
    expect(cookie).toMatch(/; Path=\/(;|$)/);
    expect(cookie).not.toMatch(/; Domain=/i);
  });

  test("the session cookie is __Host- prefixed and Secure", async () => {
    const { res } = await signIn();
    expect(res.status).toBe(303);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-gatehouse_session="));
    expect(cookie).toMatch(/; Secure(;|$)/);
    expect(cookie).toMatch(/; HttpOnly(;|$)/);
  });

  test("the signed-in session is read from the __Host- cookie", async () => {
    const { b } = await signIn();
    expect((await b.get("/keys")).status).toBe(200);
  });

  test("a csrf cookie without the __Host- prefix is ignored", async () => {
    const { b, csrf } = await signIn();
    b.cookies.delete("__Host-gatehouse_csrf");
    b.cookies.set("gatehouse_csrf", csrf);
    const res = await b.post("/keys", { csrf, name: "k", access: "read", expires_in: "never" }, { origin: publicUrl });
    expect(res.status).toBe(403);
  });

  test("a post whose Origin is the loopback address, not the public URL, is refused", async () => {
    const { b, csrf } = await signIn();
    const res = await b.post("/keys", { csrf, name: "k", access: "read", expires_in: "never" }, { origin: base });
    expect(res.status).toBe(403);
  });
});
