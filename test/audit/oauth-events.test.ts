import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { createUser } from "../../src/accounts/users.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { addClient, addUser, authorizePath, browserOf, openConsent } from "../oauth/authorize-fixture.ts";
import { register, uniqueUri } from "../oauth/register-fixture.ts";
import {
  connected,
  exchangeCode,
  makeClient,
  makeCode,
  makeUser,
  postForm,
  redirectUri,
  refreshRequest,
  verifier,
} from "../oauth/token-fixture.ts";
import { detailOf, onlyAuditRow } from "./fixture.ts";
import { advanceClock } from "../support/clock.ts";

// OAuth events in the audit log: tokens issued, refreshed and revoked,
// replays, client registrations and consent, over real HTTP.

let app: TestApp;
beforeAll(async () => {
  // The registration tests send X-Forwarded-For addresses of their own.
  app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: "true" }, listen: false });
});
afterAll(() => app.close());
afterEach(() => setSystemTime());

describe("tokens", () => {
  test("a code exchange records token_issued with user, client, connection and scope", async () => {
    const { user, client, authorization } = await connected(app);
    const row = await onlyAuditRow(app, { event: "token_issued", userId: user.id });
    expect(row).toMatchObject({ outcome: "ok", clientId: client.id, grantId: authorization.id });
    expect(detailOf(row).scope).toBe("mcp:read mcp:write");
    expect(row.requestId).toBeTruthy();
  });

  test("a refresh records token_refreshed", async () => {
    const { user, client, authorization, tokens } = await connected(app);
    expect((await refreshRequest(app, client.id, tokens.refresh_token)).status).toBe(200);
    expect(await onlyAuditRow(app, { event: "token_refreshed", userId: user.id })).toMatchObject({
      outcome: "ok",
      clientId: client.id,
      grantId: authorization.id,
    });
  });

  test("a second refresh inside the grace window is token_refreshed with grace", async () => {
    const { user, client, tokens } = await connected(app);
    await refreshRequest(app, client.id, tokens.refresh_token);
    expect((await refreshRequest(app, client.id, tokens.refresh_token)).status).toBe(200);
    const graced = await onlyAuditRow(app, {
      event: "token_refreshed",
      userId: user.id,
      detail: JSON.stringify({ scope: "mcp:read mcp:write", grace: true }),
    });
    expect(graced.outcome).toBe("ok");
  });

  test("a rotated refresh token reused after the grace window records refresh_replay, denied", async () => {
    const { user, client, authorization, tokens } = await connected(app);
    await refreshRequest(app, client.id, tokens.refresh_token);
    advanceClock(app.config.refreshGraceSeconds + 5);
    expect((await refreshRequest(app, client.id, tokens.refresh_token)).status).toBe(400);
    const row = await onlyAuditRow(app, { event: "refresh_replay", userId: user.id });
    expect(row).toMatchObject({ outcome: "denied", clientId: client.id, grantId: authorization.id });
    expect(detailOf(row).revoked).toBe("grant");
  });

  test("a replayed authorization code records code_replay, denied", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { authorization, code } = await makeCode(app, { userId: user.id, clientId: client.id });
    await exchangeCode(app, client.id, code);
    const again = await postForm(app, "/oauth/token", {
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: client.id,
    });
    expect(again.status).toBe(400);
    expect(await onlyAuditRow(app, { event: "code_replay", userId: user.id })).toMatchObject({
      outcome: "denied",
      clientId: client.id,
      grantId: authorization.id,
    });
  });

  test("revoking a refresh token records token_revoked with its kind", async () => {
    const { user, client, authorization, tokens } = await connected(app);
    const res = await postForm(app, "/oauth/revoke", { token: tokens.refresh_token, client_id: client.id });
    expect(res.status).toBe(200);
    const row = await onlyAuditRow(app, { event: "token_revoked", userId: user.id });
    expect(row).toMatchObject({
      outcome: "ok",
      clientId: client.id,
      grantId: authorization.id,
      requestId: res.headers.get("x-request-id"),
    });
    expect(detailOf(row).kind).toBe("refresh");
  });

  test("revoking an unknown token records nothing", async () => {
    const { user, client } = await connected(app);
    await postForm(app, "/oauth/revoke", { token: "gate_at_nope", client_id: client.id });
    await expect(onlyAuditRow(app, { event: "token_revoked", userId: user.id })).rejects.toThrow("found 0");
  });
});

describe("client registration", () => {
  test("DCR records client_registered with the client id and the caller's address", async () => {
    const { res, json } = await register(
      app,
      { client_name: "Audit DCR", redirect_uris: [uniqueUri()] },
      { address: "203.0.113.7" },
    );
    expect(res.status).toBe(201);
    const row = await onlyAuditRow(app, { event: "client_registered", clientId: String(json.client_id) });
    expect(row).toMatchObject({ outcome: "ok", userId: null, ip: "203.0.113.7" });
    expect(detailOf(row)).toMatchObject({ kind: "dcr", name: "Audit DCR", reused: false });
  });

  test("an admin adding a client records client_registered with the admin as user", async () => {
    const admin = await createUser(app.db, {
      email: "audit-admin@example.com",
      password: "a long password 123",
      passwordCost: app.config.passwordHashCost,
      isAdmin: true,
      now: Math.floor(Date.now() / 1000),
    });
    const b = new Browser(app.url, app.send);
    const signIn = Browser.csrfOf(await (await b.get("/sign-in")).text());
    await b.post("/sign-in", { csrf: signIn, email: "audit-admin@example.com", password: "a long password 123" });
    const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
    const res = await b.post("/admin/clients", {
      csrf,
      name: "Hand-made",
      redirect_uris: "https://hand.example/cb",
      type: "none",
    });
    expect(res.status).toBe(303);
    const row = await onlyAuditRow(app, { event: "client_registered", userId: admin.id });
    expect(detailOf(row)).toMatchObject({ kind: "manual", name: "Hand-made" });
  });
});

describe("consent", () => {
  async function answer(form: Record<string, string>) {
    const client = await addClient(app);
    const userId = await addUser(app);
    const b = await browserOf(app, userId);
    const page = await openConsent(b, authorizePath(client.id));
    const res = await b.post("/oauth/authorize", { csrf: page.csrf, request: page.request, ...form });
    expect(res.status).toBe(302);
    return { client, userId };
  }

  test("Allow records consent_given with the new connection and its scope", async () => {
    const { client, userId } = await answer({ decision: "allow", access: "read" });
    const row = await onlyAuditRow(app, { event: "consent_given", userId });
    expect(row.clientId).toBe(client.id);
    expect(row.grantId).toBeTruthy();
    expect(detailOf(row).scope).toBe("mcp:read");
  });

  test("Deny records consent_denied, outcome denied", async () => {
    const { client, userId } = await answer({ decision: "deny", access: "full" });
    expect(await onlyAuditRow(app, { event: "consent_denied", userId })).toMatchObject({
      outcome: "denied",
      clientId: client.id,
      grantId: null,
    });
  });
});
