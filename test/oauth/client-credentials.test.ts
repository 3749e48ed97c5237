import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import {
  createServiceAccount,
  deleteServiceAccount,
  newServiceAccountSecret,
} from "../../src/accounts/service-accounts.ts";
import { disableAccount, enableAccount } from "../../src/accounts/users.ts";
import { first } from "../../src/db/transaction.ts";
import type { AccessLevel } from "../../src/keys/api-keys.ts";
import { mcpResourceUrl } from "../../src/oauth/resource.ts";
import { randomString } from "../../src/security/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, rpc, structured } from "../mcp/fixture.ts";
import { nowSeconds } from "../support/clock.ts";

// grant_type=client_credentials (RFC 6749 §4.4) for service accounts: the
// real token endpoint, the real /mcp endpoint and the MCP client SDK.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

async function account(access: AccessLevel = "full", tools: string[] | null = null) {
  const name = `ci-${randomString(4)}`;
  const { account, clientSecret } = await createServiceAccount(app.db, {
    name,
    access,
    tools,
    resource: mcpResourceUrl(app.url),
    now: nowSeconds(),
  });
  return { name, userId: account.user.id, clientId: account.client.id, secret: clientSecret };
}

const basic = (id: string, secret: string) =>
  `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;

async function token(form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await app.request("/oauth/token", {
    method: "POST",
    headers,
    body: new URLSearchParams({ grant_type: "client_credentials", ...form }),
  });
  return { res, json: (await res.json()) as Record<string, any> };
}

const tokenFor = (a: { clientId: string; secret: string }, form: Record<string, string> = {}) =>
  token(form, { authorization: basic(a.clientId, a.secret) });

async function whoamiStatus(accessToken: string) {
  const res = await rpc(
    app,
    accessToken,
    { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "gatehouse__whoami", arguments: {} } },
    { "mcp-protocol-version": "2025-06-18" },
  );
  return res.status;
}

describe("the token endpoint", () => {
  test("gives an access token and no refresh token, with the account's scope", async () => {
    const a = await account();
    const { res, json } = await tokenFor(a);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(json.access_token).toMatch(/^gate_at_[a-z2-7]{16}_[a-z2-7]{52}$/);
    expect([json.token_type, json.scope, json.expires_in, "refresh_token" in json]).toEqual([
      "Bearer",
      "mcp:read mcp:write",
      3600,
      false,
    ]);
  });

  test("records the account's client's and authorization's last use", async () => {
    const a = await account();
    expect((await tokenFor(a)).res.status).toBe(200);
    const { oauthClients, oauthGrants } = app.db.tables;
    const client = first(await app.db.select().from(oauthClients).where(eq(oauthClients.id, a.clientId)).limit(1))!;
    const grant = first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, a.clientId)).limit(1))!;
    expect(client.lastUsedAt).toBeNumber();
    expect(grant.lastUsedAt).toBe(client.lastUsedAt);
  });

  test("accepts the secret in the form (client_secret_post) as well as by Basic", async () => {
    const a = await account();
    const { res } = await token({ client_id: a.clientId, client_secret: a.secret });
    expect(res.status).toBe(200);
  });

  test("a wrong secret is 401 invalid_client with a Basic challenge", async () => {
    const a = await account();
    const { res, json } = await tokenFor({ clientId: a.clientId, secret: "gate_cs_wrong" });
    expect([res.status, json.error, res.headers.get("www-authenticate")]).toEqual([
      401,
      "invalid_client",
      'Basic realm="gatehouse"',
    ]);
  });

  test("a narrower scope is granted; a wider one is invalid_scope", async () => {
    const full = await account();
    expect((await tokenFor(full, { scope: "mcp:read" })).json.scope).toBe("mcp:read");
    const read = await account("read");
    const { res, json } = await tokenFor(read, { scope: "mcp:read mcp:write" });
    expect([res.status, json.error]).toEqual([400, "invalid_scope"]);
  });

  test("another resource is invalid_target; the MCP resource is fine", async () => {
    const a = await account();
    expect((await tokenFor(a, { resource: "https://elsewhere.example/mcp" })).json.error).toBe("invalid_target");
    expect((await tokenFor(a, { resource: mcpResourceUrl(app.url) })).res.status).toBe(200);
  });

  test("a confidential client that is not a service account's is unauthorized_client", async () => {
    const reg = await app.request("/oauth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_name: "web app",
        redirect_uris: ["https://app.example/cb"],
        token_endpoint_auth_method: "client_secret_basic",
      }),
    });
    const { client_id, client_secret } = (await reg.json()) as { client_id: string; client_secret: string };
    const { res, json } = await tokenFor({ clientId: client_id, secret: client_secret });
    expect([res.status, json.error]).toEqual([400, "unauthorized_client"]);
  });

  test("is recorded in the audit log as token_issued under the account", async () => {
    const a = await account();
    await tokenFor(a);
    await app.audit.drain();
    const { auditEvents } = app.db.tables;
    const rows = await app.db.select().from(auditEvents).where(eq(auditEvents.userId, a.userId));
    expect(rows.map((r) => [r.event, r.clientId, JSON.parse(r.detail!).grant_type])).toContainEqual([
      "token_issued",
      a.clientId,
      "client_credentials",
    ]);
  });

  test("the metadata lists client_credentials", async () => {
    const body = (await (await app.request("/.well-known/oauth-authorization-server")).json()) as {
      grant_types_supported: string[];
    };
    expect(body.grant_types_supported).toContain("client_credentials");
  });

  test("a service account's client cannot start the device flow", async () => {
    const a = await account();
    const res = await app.request("/oauth/device_authorization", {
      method: "POST",
      headers: { authorization: basic(a.clientId, a.secret) },
      body: new URLSearchParams({}),
    });
    expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([400, "unauthorized_client"]);
  });
});

describe("on /mcp", () => {
  test("whoami names the service account and its client", async () => {
    const a = await account("full", ["gatehouse__revoke_connection"]);
    const client = await connectClient(app, (await tokenFor(a)).json.access_token);
    const who = structured(await client.callTool({ name: "gatehouse__whoami", arguments: {} }));
    expect([who.email, who.via, who.name, who.write_tools]).toEqual([
      `${a.name}@service.invalid`,
      "connection",
      a.name,
      ["gatehouse__revoke_connection"],
    ]);
    await client.close();
  });

  test("a read-only account lists no write tools and its tool calls are audited under it", async () => {
    const a = await account("read");
    const client = await connectClient(app, (await tokenFor(a)).json.access_token);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("gatehouse__whoami");
    expect(names).not.toContain("gatehouse__revoke_connection");
    await client.callTool({ name: "gatehouse__whoami", arguments: {} });
    await client.close();
    await app.audit.drain();
    const { auditEvents } = app.db.tables;
    const calls = (await app.db.select().from(auditEvents).where(eq(auditEvents.userId, a.userId))).filter(
      (r) => r.event === "tool_call",
    );
    expect(calls.map((r) => [r.tool, r.outcome])).toEqual([["gatehouse__whoami", "ok"]]);
  });

  test("disabling the account stops its token on the next request and refuses new ones; enabling brings it back", async () => {
    const a = await account();
    const accessToken = (await tokenFor(a)).json.access_token;
    expect(await whoamiStatus(accessToken)).toBe(200);
    await disableAccount(app.db, a.userId, nowSeconds());
    expect(await whoamiStatus(accessToken)).toBe(401);
    const { res, json } = await tokenFor(a);
    expect([res.status, json.error]).toEqual([400, "unauthorized_client"]);
    await enableAccount(app.db, a.userId);
    expect((await tokenFor(a)).res.status).toBe(200);
  });

  test("deleting the account stops its token and its client, and deletes its tokens", async () => {
    const a = await account();
    const accessToken = (await tokenFor(a)).json.access_token;
    expect((await deleteServiceAccount(app.db, a.userId))?.user.name).toBe(a.name);
    expect(await whoamiStatus(accessToken)).toBe(401);
    expect((await tokenFor(a)).json.error).toBe("invalid_client");
    const tokenId = accessToken.slice("gate_at_".length, "gate_at_".length + 16);
    const { oauthTokens } = app.db.tables;
    expect(await app.db.select().from(oauthTokens).where(eq(oauthTokens.id, tokenId))).toEqual([]);
  });

  test("a new secret stops the old one at once", async () => {
    const a = await account();
    const renewed = await newServiceAccountSecret(app.db, a.userId);
    if (renewed === null || renewed === "changed") throw new Error("no new secret");
    expect((await tokenFor(a)).json.error).toBe("invalid_client");
    expect((await tokenFor({ clientId: a.clientId, secret: renewed.clientSecret })).res.status).toBe(200);
  });
});
