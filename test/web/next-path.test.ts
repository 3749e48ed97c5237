import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createInvitation } from "../../src/accounts/invitations.ts";
import { createUser } from "../../src/accounts/users.ts";
import { decodeFlow, encodeFlow, flowCookieName } from "../../src/identity/flow-cookie.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { safeNextPath, signInUrl } from "../../src/web/next-path.ts";
import { Browser, createTestApp, freePort, type TestApp } from "../helpers.ts";
import { gatehouseWith, loginAtOp, oidcProvider, startOp, type TestOp } from "../identity/oidc-fixture.ts";

// Open redirects through `next` (issue 10, point 1): `/..//evil.example` used
// to pass the raw-string check and come out of `new URL()` as the
// protocol-relative `//evil.example`. Every place that sends a person on
// after signing in goes through safeNextPath; each is tried here.

const password = "correct horse battery staple";
const now = () => Math.floor(Date.now() / 1000);

/** The three reported variants: each resolved to `//evil.example`. */
const reported = ["/..//evil.example", "/.//evil.example", "/%2e%2e//evil.example"];

/** More ways off this origin: every one must end at the fallback. */
const hostile = [
  ...reported,
  "//evil.example",
  "///evil.example",
  "/\\evil.example",
  "/\\/evil.example",
  "\\\\evil.example",
  "https://evil.example",
  "http:evil.example",
  "javascript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  " /keys",
  "evil.example",
  "/%2E%2E//evil.example",
  "/.%2e//evil.example",
  "/%2e.//evil.example",
  "/%2e%2e/%2e%2e//evil.example",
  "/a/../..//evil.example",
  "/keys/../..//evil.example",
  "/./..//evil.example",
  "/.%2E/.%2E//evil.example",
  "/..\\evil.example",
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r\n//evil.example",
  "/\u0000//evil.example",
  "/\u007f//evil.example",
  "",
];

/** Odd but on this origin: kept as the browser would resolve them. */
const kept: [string, string][] = [
  ["/keys", "/keys"],
  ["/keys?tab=1", "/keys?tab=1"],
  ["/keys#section", "/keys"],
  ["/a/../keys", "/keys"],
  ["/%2F%2Fevil.example", "/%2F%2Fevil.example"],
  ["/..%2f/evil.example", "/..%2f/evil.example"],
  ["/@evil.example", "/@evil.example"],
  ["/oauth/authorize?redirect_uri=https://evil.example/", "/oauth/authorize?redirect_uri=https://evil.example/"],
];

describe("safeNextPath", () => {
  test.each(hostile)("%j ends at the fallback", (next) => {
    expect(safeNextPath(next)).toBe("/");
    expect(safeNextPath(next, "/keys")).toBe("/keys");
  });

  test.each(kept)("%j stays on this origin as %j", (next, path) => {
    expect(safeNextPath(next)).toBe(path);
  });

  test("every result is a path a browser keeps on this origin", () => {
    for (const next of [...hostile, ...kept.map(([n]) => n)]) {
      const path = safeNextPath(next);
      expect(new URL(path, "https://gatehouse.example").origin).toBe("https://gatehouse.example");
      expect(path.startsWith("//")).toBe(false);
    }
  });

  test("signInUrl carries a safe path and drops an unsafe one", () => {
    expect(signInUrl("/device?user_code=BCDF-GHJK")).toBe("/sign-in?next=%2Fdevice%3Fuser_code%3DBCDF-GHJK");
    expect(signInUrl("/..//evil.example")).toBe("/sign-in");
  });
});

describe("entry points", () => {
  let app: TestApp;
  let key: string;
  beforeAll(async () => {
    app = await createTestApp({ setupToken: "setup-token-for-next-path-tests-0123", listen: false });
    const user = await createUser(app.db, {
      email: "alice@example.com",
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: false,
      now: now(),
    });
    key = (
      await createApiKey(app.db, {
        userId: user.id,
        name: "laptop",
        access: "read",
        expiresInSeconds: null,
        now: now(),
      })
    ).token;
  });
  afterAll(() => app.close());

  const csrfFrom = async (b: Browser, path = "/sign-in") => Browser.csrfOf(await (await b.get(path)).text());

  test.each(hostile)("GET /sign-in?next=%j when already signed in goes to /", async (next) => {
    const b = new Browser(app.url, app.send);
    expect((await b.post("/sign-in/key", { csrf: await csrfFrom(b), api_key: key })).status).toBe(303);
    const res = await b.get(`/sign-in?next=${encodeURIComponent(next)}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
  });

  test.each(hostile)("POST /sign-in/key with next=%j goes to /", async (next) => {
    const b = new Browser(app.url, app.send);
    const res = await b.post("/sign-in/key", { csrf: await csrfFrom(b), api_key: key, next });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
  });

  test.each(reported)("POST /sign-in with the right password and next=%j goes to /", async (next) => {
    const b = new Browser(app.url, app.send);
    const res = await b.post("/sign-in", { csrf: await csrfFrom(b), email: "alice@example.com", password, next });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
  });

  test.each(reported)("GET /sign-in?next=%j draws the form with next=/", async (next) => {
    const html = await (await new Browser(app.url, app.send).get(`/sign-in?next=${encodeURIComponent(next)}`)).text();
    expect(html).toContain('name="next" value="/"');
    expect(html).not.toContain("evil.example");
  });

  test.each(reported)("accepting an invitation with next=%j goes to /keys", async (next) => {
    const { token } = await createInvitation(app.db, {
      email: `invited-${crypto.randomUUID()}@example.com`,
      isAdmin: false,
      createdBy: null,
      now: now(),
    });
    const b = new Browser(app.url, app.send);
    const page = await b.get(`/invite/${token}?next=${encodeURIComponent(next)}`);
    const html = await page.text();
    expect(html).toContain('name="next" value="/keys"');
    const res = await b.post(`/invite/${token}`, { csrf: Browser.csrfOf(html), password, next });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/keys");
  });

  test("an invitation's next on this server is followed", async () => {
    const { token } = await createInvitation(app.db, {
      email: "invited-next@example.com",
      isAdmin: false,
      createdBy: null,
      now: now(),
    });
    const b = new Browser(app.url, app.send);
    const res = await b.post(`/invite/${token}`, {
      csrf: await csrfFrom(b, `/invite/${token}`),
      password,
      next: "/activity",
    });
    expect(res.headers.get("location")).toBe("/activity");
  });

  test("the device page sends a signed-out person to sign in and back to the same code", async () => {
    const b = new Browser(app.url, app.send);
    const res = await b.get("/device?user_code=BCDF-GHJK");
    expect(res.status).toBe(303);
    const signIn = res.headers.get("location")!;
    expect(signIn).toBe("/sign-in?next=%2Fdevice%3Fuser_code%3DBCDF-GHJK");
    const html = await (await b.get(signIn)).text();
    const back = await b.post("/sign-in/key", {
      csrf: Browser.csrfOf(html),
      api_key: key,
      next: /name="next" value="([^"]*)"/.exec(html)![1]!,
    });
    expect(back.headers.get("location")).toBe("/device?user_code=BCDF-GHJK");
  });

  // Last: creating the first admin ends the setup link for the app.
  test("setup with next=/..//evil.example goes to /keys", async () => {
    const b = new Browser(app.url, app.send);
    const page = await b.get(`/setup?token=${app.setupToken}&next=${encodeURIComponent(reported[0]!)}`);
    const html = await page.text();
    expect(html).toContain('name="next" value="/keys"');
    const res = await b.post("/setup", {
      csrf: Browser.csrfOf(html),
      token: app.setupToken!,
      email: "root@example.com",
      password,
      next: reported[0]!,
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/keys");
  });
});

describe("identity provider sign-in", () => {
  const port = freePort();
  let op: TestOp;
  let app: TestApp;
  beforeAll(async () => {
    op = await startOp({ redirectUris: [`http://127.0.0.1:${port}/sign-in/test-op/callback`] });
    app = await gatehouseWith(port, [oidcProvider(op, { signup: "open" })]);
    op.accounts.set("alice", { email: "alice@example.com", email_verified: true });
  });
  afterAll(async () => {
    await app?.close();
    await op?.close();
  });

  const start = async (b: Browser, next: string) =>
    b.post("/sign-in/test-op", { csrf: Browser.csrfOf(await (await b.get("/sign-in")).text()), next });

  test.each(reported)("the callback after next=%j goes to /", async (next) => {
    const b = new Browser(app.url, app.send);
    const started = await start(b, next);
    expect(started.status).toBe(303);
    const res = await b.request(await loginAtOp(b, started.headers.get("location")!, "alice"));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
  });

  test("a flow cookie planted with next=/..//evil.example still ends at /", async () => {
    const b = new Browser(app.url, app.send);
    const started = await start(b, "/keys");
    const name = flowCookieName(false);
    const flow = decodeFlow(b.cookies.get(name)!, now())!;
    b.cookies.set(name, encodeFlow({ ...flow, next: "/..//evil.example" }));
    const res = await b.request(await loginAtOp(b, started.headers.get("location")!, "alice"));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
  });
});
