import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { normalizeUserCode } from "../../src/oauth/device-codes.ts";
import { purgeExpiredOAuth } from "../../src/oauth/purge.ts";
import { hashSecret } from "../../src/security/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import {
  answer,
  deviceCodePattern,
  deviceGrantType,
  deviceRow,
  errorOf,
  poll,
  startDeviceFlow,
  userCodePattern,
} from "./device-fixture.ts";
import {
  accessPattern,
  basicAuth,
  makeClient,
  makeUser,
  nowSeconds,
  postForm,
  refreshPattern,
} from "./token-fixture.ts";

// RFC 8628: the device authorization endpoint (§3.1, §3.2) and the token
// endpoint's device_code authorization (§3.4, §3.5), over real HTTP.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());
afterEach(() => {
  setSystemTime();
});

const at = (seconds: number) => setSystemTime(new Date(seconds * 1000));

describe("metadata (RFC 8628 §4)", () => {
  test("advertises the device authorization endpoint and the device_code grant type", async () => {
    const body = await (await app.request("/.well-known/oauth-authorization-server")).json();
    expect(body.device_authorization_endpoint).toBe(`${app.url}/oauth/device_authorization`);
    expect(body.grant_types_supported).toContain(deviceGrantType);
  });
});

describe("device authorization response (RFC 8628 §3.2)", () => {
  test("answers device_code, user_code, both verification URIs, expires_in 600 and interval 5, not cached", async () => {
    const { client } = await makeClient(app);
    const res = await postForm(app, "/oauth/device_authorization", { client_id: client.id });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual([
      "device_code",
      "expires_in",
      "interval",
      "user_code",
      "verification_uri",
      "verification_uri_complete",
    ]);
    expect(body.device_code).toMatch(deviceCodePattern);
    expect(body.user_code).toMatch(userCodePattern);
    expect(body.verification_uri).toBe(`${app.url}/device`);
    expect(body.verification_uri_complete).toBe(`${app.url}/device?user_code=${body.user_code}`);
    expect([body.expires_in, body.interval]).toEqual([600, 5]);
  });

  test("stores the request pending with the default scope and resource, and only a hash of the user code", async () => {
    const { client } = await makeClient(app);
    const body = await startDeviceFlow(app, client.id);
    const row = await deviceRow(app, body.device_code);
    expect([row.status, row.scope, row.resource, row.clientId, row.interval]).toEqual([
      "pending",
      "mcp:read mcp:write",
      `${app.url}/mcp`,
      client.id,
      5,
    ]);
    expect(row.userCodeHash).toBe(hashSecret(normalizeUserCode(body.user_code)!));
    expect(JSON.stringify(row)).not.toContain(body.user_code.replace("-", ""));
  });

  test("keeps a requested read-only scope", async () => {
    const { client } = await makeClient(app);
    const body = await startDeviceFlow(app, client.id, { scope: "mcp:read" });
    expect((await deviceRow(app, body.device_code)).scope).toBe("mcp:read");
  });

  test("an unknown client is 401 invalid_client", async () => {
    const res = await postForm(app, "/oauth/device_authorization", { client_id: "nobody" });
    expect([res.status, await errorOf(res)]).toEqual([401, "invalid_client"]);
  });

  test("a request without client_id is 401 invalid_client", async () => {
    const res = await postForm(app, "/oauth/device_authorization", { scope: "mcp:read" });
    expect([res.status, await errorOf(res)]).toEqual([401, "invalid_client"]);
  });

  test("a confidential client without its secret is 401 invalid_client, with it 200", async () => {
    const { client, secret } = await makeClient(app, { method: "client_secret_basic" });
    const bare = await postForm(app, "/oauth/device_authorization", { client_id: client.id });
    expect([bare.status, await errorOf(bare)]).toEqual([401, "invalid_client"]);
    const authed = await postForm(
      app,
      "/oauth/device_authorization",
      {},
      { authorization: basicAuth(client.id, secret!) },
    );
    expect(authed.status).toBe(200);
  });

  test("a resource other than the MCP endpoint is invalid_target (RFC 8707 §2)", async () => {
    const { client } = await makeClient(app);
    const res = await postForm(app, "/oauth/device_authorization", {
      client_id: client.id,
      resource: "https://elsewhere.example/mcp",
    });
    expect([res.status, await errorOf(res)]).toEqual([400, "invalid_target"]);
  });

  test("a repeated parameter is invalid_request (RFC 6749 §3.1)", async () => {
    const { client } = await makeClient(app);
    const res = await postForm(app, "/oauth/device_authorization", [
      ["client_id", client.id],
      ["scope", "mcp:read"],
      ["scope", "mcp:write"],
    ]);
    expect([res.status, await errorOf(res)]).toEqual([400, "invalid_request"]);
  });

  test("a body that is not form-encoded is invalid_request", async () => {
    const { client } = await makeClient(app);
    const res = await app.request("/oauth/device_authorization", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_id: client.id }),
    });
    expect([res.status, await errorOf(res)]).toEqual([400, "invalid_request"]);
  });
});

describe("polling the token endpoint (RFC 8628 §3.4, §3.5)", () => {
  test("before the person answers: 400 authorization_pending", async () => {
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    const res = await poll(app, client.id, device_code);
    expect([res.status, await errorOf(res)]).toEqual([400, "authorization_pending"]);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("a second poll within the interval is slow_down, and the interval grows by 5 seconds", async () => {
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    const start = nowSeconds();
    at(start);
    expect(await errorOf(await poll(app, client.id, device_code))).toBe("authorization_pending");
    at(start + 4);
    expect(await errorOf(await poll(app, client.id, device_code))).toBe("slow_down");
    expect((await deviceRow(app, device_code)).interval).toBe(10);
  });

  test("after slow_down the longer interval is enforced, and polling at it is pending again", async () => {
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    const start = nowSeconds();
    at(start);
    await poll(app, client.id, device_code);
    at(start + 1);
    expect(await errorOf(await poll(app, client.id, device_code))).toBe("slow_down");
    at(start + 7);
    expect(await errorOf(await poll(app, client.id, device_code))).toBe("slow_down");
    expect((await deviceRow(app, device_code)).interval).toBe(15);
    at(start + 22);
    expect(await errorOf(await poll(app, client.id, device_code))).toBe("authorization_pending");
  });

  test("after the person denies: 400 access_denied", async () => {
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    await answer(app, device_code, "deny");
    const res = await poll(app, client.id, device_code);
    expect([res.status, await errorOf(res)]).toEqual([400, "access_denied"]);
  });

  test("after expiry: 400 expired_token", async () => {
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    at(nowSeconds() + 600);
    const res = await poll(app, client.id, device_code);
    expect([res.status, await errorOf(res)]).toEqual([400, "expired_token"]);
  });

  test("after approval: the code grant's token response, and an audit entry token_issued", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    const { authorization } = (await answer(app, device_code, "allow", user.id))!;
    const res = await poll(app, client.id, device_code);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "refresh_token", "scope", "token_type"]);
    expect([body.token_type, body.scope, body.expires_in]).toEqual([
      "Bearer",
      "mcp:read mcp:write",
      app.config.accessTokenTtlSeconds,
    ]);
    expect(body.access_token).toMatch(accessPattern);
    expect(body.refresh_token).toMatch(refreshPattern);
    const { auditEvents, oauthTokens } = app.db.tables;
    expect(await app.db.select().from(oauthTokens).where(eq(oauthTokens.grantId, authorization!.id))).toHaveLength(2);
    await app.audit.drain();
    const entries = await app.db
      .select({
        event: auditEvents.event,
        user_id: auditEvents.userId,
        client_id: auditEvents.clientId,
        grant_id: auditEvents.grantId,
      })
      .from(auditEvents)
      .where(eq(auditEvents.grantId, authorization!.id));
    expect(entries).toEqual([
      { event: "token_issued", user_id: user.id, client_id: client.id, grant_id: authorization!.id },
    ]);
  });

  test("the poll that gets the tokens records the connection's and the client's last use", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    const { authorization } = (await answer(app, device_code, "allow", user.id))!;
    const start = nowSeconds();
    at(start);
    expect((await poll(app, client.id, device_code)).status).toBe(200);
    const { oauthClients, oauthGrants } = app.db.tables;
    const grant = first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, authorization!.id)).limit(1))!;
    const registration = first(
      await app.db.select().from(oauthClients).where(eq(oauthClients.id, client.id)).limit(1),
    )!;
    expect([grant.lastUsedAt, registration.lastUsedAt]).toEqual([start, start]);
  });

  test("a device code is single use: the next poll is invalid_grant and the row is used", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    await answer(app, device_code, "allow", user.id);
    const start = nowSeconds();
    at(start);
    expect((await poll(app, client.id, device_code)).status).toBe(200);
    at(start + 30);
    const again = await poll(app, client.id, device_code);
    expect([again.status, await errorOf(again)]).toEqual([400, "invalid_grant"]);
    expect((await deviceRow(app, device_code)).status).toBe("used");
  });

  test("the refresh token of a device grant refreshes", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    await answer(app, device_code, "allow", user.id);
    const tokens = await (await poll(app, client.id, device_code)).json();
    const res = await postForm(app, "/oauth/token", {
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token,
      client_id: client.id,
    });
    expect(res.status).toBe(200);
  });

  test("a device code issued to another client is invalid_grant", async () => {
    const { client } = await makeClient(app);
    const { client: other } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    const res = await poll(app, other.id, device_code);
    expect([res.status, await errorOf(res)]).toEqual([400, "invalid_grant"]);
  });

  test("an unknown or malformed device_code is invalid_grant", async () => {
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    const forged = `${device_code.slice(0, -4)}aaaa`;
    for (const code of [forged, "gate_dc_nope", "x"]) {
      const res = await poll(app, client.id, code);
      expect([res.status, await errorOf(res)]).toEqual([400, "invalid_grant"]);
    }
  });

  test("a poll without device_code is invalid_request", async () => {
    const { client } = await makeClient(app);
    const res = await postForm(app, "/oauth/token", { grant_type: deviceGrantType, client_id: client.id });
    expect([res.status, await errorOf(res)]).toEqual([400, "invalid_request"]);
  });

  test("a poll by an unknown client is 401 invalid_client", async () => {
    const { client } = await makeClient(app);
    const { device_code } = await startDeviceFlow(app, client.id);
    const res = await poll(app, "nobody", device_code);
    expect([res.status, await errorOf(res)]).toEqual([401, "invalid_client"]);
  });
});

describe("purge", () => {
  test("deletes expired device codes and keeps live ones", async () => {
    const { client } = await makeClient(app);
    const live = await startDeviceFlow(app, client.id);
    const start = nowSeconds();
    at(start - 700);
    const old = await startDeviceFlow(app, client.id);
    setSystemTime();
    const removed = await purgeExpiredOAuth(app.db, start);
    expect(removed.deviceCodes).toBeGreaterThanOrEqual(1);
    const { oauthDeviceCodes } = app.db.tables;
    const ids = (await app.db.select({ id: oauthDeviceCodes.id }).from(oauthDeviceCodes)).map((r) => r.id);
    expect([ids.some((id) => old.device_code.includes(id)), ids.some((id) => live.device_code.includes(id))]).toEqual([
      false,
      true,
    ]);
  });
});
