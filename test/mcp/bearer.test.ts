import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { createApiKey, revokeApiKey } from "../../src/keys/api-keys.ts";
import { revokeConnection } from "../../src/oauth/connections.ts";
import { approveAuthorization } from "../../src/oauth/authorizations.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import {
  challenge,
  connected,
  exchangeCode,
  makeClient,
  makeUser,
  nowSeconds,
  redirectUri,
} from "../oauth/token-fixture.ts";
import { bareChallenge, mcpUrl, prmPath, rpc, userWithKey } from "./fixture.ts";
import { advanceClock } from "../support/clock.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());
afterEach(() => setSystemTime());

const listTools = { jsonrpc: "2.0", id: 1, method: "tools/list" };

/** The 401 challenge when a token was sent and refused. */
function invalidTokenChallenge(description: string) {
  return `${bareChallenge(app)}, error="invalid_token", error_description="${description}"`;
}

async function expect401(res: Response, wwwAuthenticate: string) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe(wwwAuthenticate);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = await res.json();
  expect(body.jsonrpc).toBe("2.0");
  expect(body.id).toBeNull();
}

describe("401 on /mcp", () => {
  test("missing token: the challenge names the metadata and the scopes, and no error", async () => {
    await expect401(await rpc(app, null, listTools), bareChallenge(app));
  });

  test("the challenge's resource_metadata is the PRM document's URL", () => {
    expect(bareChallenge(app)).toContain(`resource_metadata="${app.url}${prmPath}"`);
  });

  test("GET and DELETE without a token are 401 too", async () => {
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(mcpUrl(app), { method });
      await expect401(res, bareChallenge(app));
    }
  });

  test("malformed header (not Bearer): invalid_token", async () => {
    const res = await rpc(app, null, listTools, { authorization: "Basic dXNlcjpwYXNz" });
    await expect401(res, invalidTokenChallenge("The Authorization header must be: Bearer <token>."));
  });

  test("malformed header (Bearer without a token): invalid_token", async () => {
    const res = await rpc(app, null, listTools, { authorization: "Bearer " });
    await expect401(res, invalidTokenChallenge("The Authorization header must be: Bearer <token>."));
  });

  test("unknown credential kind: invalid_token", async () => {
    await expect401(
      await rpc(app, "sk-not-ours", listTools),
      invalidTokenChallenge("The token is not a Gatehouse access token or API key."),
    );
  });

  test("unknown API key: invalid_token", async () => {
    const unknown = `gate_key_${"a".repeat(16)}_${"b".repeat(52)}`;
    await expect401(
      await rpc(app, unknown, listTools),
      invalidTokenChallenge("The API key is unknown, expired or revoked."),
    );
  });

  test("unknown access token: invalid_token", async () => {
    const unknown = `gate_at_${"a".repeat(16)}_${"b".repeat(52)}`;
    await expect401(
      await rpc(app, unknown, listTools),
      invalidTokenChallenge("The access token is unknown, expired or revoked."),
    );
  });

  test("an API key with a wrong secret: invalid_token", async () => {
    const { token } = await userWithKey(app);
    const forged = token.slice(0, -4) + (token.endsWith("aaaa") ? "bbbb" : "aaaa");
    await expect401(
      await rpc(app, forged, listTools),
      invalidTokenChallenge("The API key is unknown, expired or revoked."),
    );
  });

  test("expired API key: invalid_token", async () => {
    const user = await makeUser(app);
    const { token } = await createApiKey(app.db, {
      userId: user.id,
      name: "Short",
      access: "full",
      expiresInSeconds: 60,
      now: nowSeconds(),
    });
    expect((await rpc(app, token, listTools)).status).toBe(200);
    advanceClock(61);
    await expect401(
      await rpc(app, token, listTools),
      invalidTokenChallenge("The API key is unknown, expired or revoked."),
    );
  });

  test("expired access token: invalid_token", async () => {
    const { tokens } = await connected(app);
    expect((await rpc(app, tokens.access_token, listTools)).status).toBe(200);
    advanceClock(app.config.accessTokenTtlSeconds + 1);
    await expect401(
      await rpc(app, tokens.access_token, listTools),
      invalidTokenChallenge("The access token is unknown, expired or revoked."),
    );
  });

  test("revoked API key: invalid_token on the very next request", async () => {
    const { user, apiKey, token } = await userWithKey(app);
    expect((await rpc(app, token, listTools)).status).toBe(200);
    await revokeApiKey(app.db, { id: apiKey.id, ownerId: user.id, now: nowSeconds() });
    await expect401(
      await rpc(app, token, listTools),
      invalidTokenChallenge("The API key is unknown, expired or revoked."),
    );
  });

  test("revoked connection: invalid_token on the very next request", async () => {
    const { user, authorization, tokens } = await connected(app);
    expect((await rpc(app, tokens.access_token, listTools)).status).toBe(200);
    await revokeConnection(app.db, { id: authorization.id, ownerId: user.id, now: nowSeconds() });
    await expect401(
      await rpc(app, tokens.access_token, listTools),
      invalidTokenChallenge("The access token is unknown, expired or revoked."),
    );
  });

  test("a token whose grant is for another resource: invalid_token (RFC 8707 audience)", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { code } = (await approveAuthorization(app.db, {
      userId: user.id,
      clientId: client.id,
      apiKeyId: null,
      scope: "mcp:read mcp:write",
      resource: "https://elsewhere.example/mcp",
      redirectUri,
      codeChallenge: challenge,
      now: nowSeconds(),
      codeTtlSeconds: app.config.authCodeTtlSeconds,
    }))!;
    const tokens = await exchangeCode(app, client.id, code);
    await expect401(
      await rpc(app, tokens.access_token, listTools),
      invalidTokenChallenge("The access token was issued for another resource."),
    );
  });

  test("a refresh token is not an access token: invalid_token", async () => {
    const { tokens } = await connected(app);
    await expect401(
      await rpc(app, tokens.refresh_token, listTools),
      invalidTokenChallenge("The token is not a Gatehouse access token or API key."),
    );
  });

  test("the 401 carries CORS for an allowed browser origin, exposing WWW-Authenticate", async () => {
    const res = await rpc(app, null, listTools, { origin: app.url });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe(app.url);
    expect(res.headers.get("access-control-expose-headers")).toContain("www-authenticate");
    expect(res.headers.get("access-control-expose-headers")).toContain("mcp-session-id");
    expect(res.headers.get("access-control-expose-headers")).toContain("mcp-protocol-version");
  });
});
