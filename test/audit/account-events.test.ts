import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createUser } from "../../src/accounts/users.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { connected } from "../oauth/token-fixture.ts";
import { auditRows, detailOf, onlyAuditRow } from "./fixture.ts";
import { nowSeconds } from "../support/clock.ts";

// Sign-in, API keys and connections on the web, in the audit log.

const password = "correct horse battery staple";
const tokenPattern = /gate_key_[a-z2-7]{16}_[a-z2-7]{52}/;
let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

let counter = 0;
async function newUser() {
  const email = `user${++counter}@example.com`;
  const user = await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: false,
    now: nowSeconds(),
  });
  return { ...user, email };
}

async function signIn(b: Browser, email: string, pw: string) {
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  return b.post("/sign-in", { csrf, email, password: pw });
}

describe("sign-in", () => {
  test("success records sign_in with the method and the address", async () => {
    const user = await newUser();
    expect((await signIn(new Browser(app.url), user.email, password)).status).toBe(303);
    const row = await onlyAuditRow(app, { event: "sign_in", userId: user.id });
    expect(row).toMatchObject({ outcome: "ok", ip: "127.0.0.1" });
    expect(detailOf(row).method).toBe("password");
  });

  test("a wrong password records sign_in_failed with the email tried and never the password", async () => {
    const user = await newUser();
    expect((await signIn(new Browser(app.url), user.email.toUpperCase(), "wrong password 999")).status).toBe(401);
    const row = await onlyAuditRow(app, { event: "sign_in_failed", userId: user.id });
    expect(row.outcome).toBe("denied");
    expect(detailOf(row)).toEqual({ method: "password", email: user.email });
    expect(JSON.stringify(row)).not.toContain("wrong password 999");
  });

  test("an unknown email records sign_in_failed with no user and the email tried", async () => {
    await signIn(new Browser(app.url), "nobody-here@example.com", "whatever 12345");
    const row = (await auditRows(app, { event: "sign_in_failed" })).find(
      (r) => detailOf(r).email === "nobody-here@example.com",
    );
    expect(row?.userId).toBeNull();
  });

  test("signing in with an API key records sign_in with the key", async () => {
    const user = await newUser();
    const { apiKey, token } = await createApiKey(app.db, {
      userId: user.id,
      name: "k",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const b = new Browser(app.url);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    expect((await b.post("/sign-in/key", { csrf, api_key: token })).status).toBe(303);
    expect(await onlyAuditRow(app, { event: "sign_in", userId: user.id })).toMatchObject({ apiKeyId: apiKey.id });
  });

  test("a bad API key records sign_in_failed without the key", async () => {
    const b = new Browser(app.url);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    const bad = `gate_key_${"a".repeat(16)}_${"c".repeat(52)}`;
    await b.post("/sign-in/key", { csrf, api_key: bad });
    const rows = (await auditRows(app, { event: "sign_in_failed" })).filter((r) => detailOf(r).method === "api_key");
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(rows)).not.toContain(bad);
  });
});

describe("API keys on the web", () => {
  async function signedIn() {
    const user = await newUser();
    const b = new Browser(app.url);
    await signIn(b, user.email, password);
    const csrf = async () => Browser.csrfOf(await (await b.get("/keys")).text());
    return { user, b, csrf };
  }

  test("creating a key records key_created with its id", async () => {
    const { user, b, csrf } = await signedIn();
    const html = await (
      await b.post("/keys", { csrf: await csrf(), name: "laptop", access: "read", expires_in: "never" })
    ).text();
    const id = tokenPattern.exec(html)![0].slice(9, 25);
    const row = await onlyAuditRow(app, { event: "key_created", userId: user.id });
    expect(row.apiKeyId).toBe(id);
    expect(detailOf(row)).toEqual({ name: "laptop", access: "read", tools: [], via: "web" });
  });

  test("rotating records key_rotated with the old id and the new one", async () => {
    const { user, b, csrf } = await signedIn();
    const { apiKey } = await createApiKey(app.db, {
      userId: user.id,
      name: "r",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const html = await (await b.post(`/keys/${apiKey.id}/rotate`, { csrf: await csrf() })).text();
    const newId = tokenPattern.exec(html)![0].slice(9, 25);
    const row = await onlyAuditRow(app, { event: "key_rotated", userId: user.id });
    expect(row.apiKeyId).toBe(apiKey.id);
    expect(detailOf(row).new_api_key_id).toBe(newId);
  });

  test("revoking records key_revoked", async () => {
    const { user, b, csrf } = await signedIn();
    const { apiKey } = await createApiKey(app.db, {
      userId: user.id,
      name: "v",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    expect((await b.post(`/keys/${apiKey.id}/revoke`, { csrf: await csrf() })).status).toBe(303);
    expect((await onlyAuditRow(app, { event: "key_revoked", userId: user.id })).apiKeyId).toBe(apiKey.id);
  });

  test("revoking another user's key records nothing", async () => {
    const { user, b, csrf } = await signedIn();
    const other = await newUser();
    const { apiKey } = await createApiKey(app.db, {
      userId: other.id,
      name: "theirs",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    expect((await b.post(`/keys/${apiKey.id}/revoke`, { csrf: await csrf() })).status).toBe(404);
    expect(await auditRows(app, { event: "key_revoked", apiKeyId: apiKey.id })).toEqual([]);
    expect(await auditRows(app, { event: "key_revoked", userId: user.id })).toEqual([]);
  });

  test("revoking a connection records connection_revoked", async () => {
    const { user, b, csrf } = await signedIn();
    const { authorization } = await connected(app);
    // An admin may revoke anyone's; a user only their own, so make it theirs.
    const { oauthGrants } = app.db.tables;
    await app.db.update(oauthGrants).set({ userId: user.id }).where(eq(oauthGrants.id, authorization.id));
    expect((await b.post(`/connections/${authorization.id}/revoke`, { csrf: await csrf() })).status).toBe(303);
    expect((await onlyAuditRow(app, { event: "connection_revoked", userId: user.id })).grantId).toBe(authorization.id);
  });
});
