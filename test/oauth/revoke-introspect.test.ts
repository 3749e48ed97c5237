import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { authenticateAccessToken } from "../../src/oauth/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import {
  basicAuth,
  connected,
  makeClient,
  makeCode,
  makeUser,
  nowSeconds,
  postForm,
  redirectUri,
  refreshRequest,
  verifier,
} from "./token-fixture.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());

const revoke = (params: Record<string, string>, headers: Record<string, string> = {}) =>
  postForm(app, "/oauth/revoke", params, headers);
const introspect = (params: Record<string, string>, headers: Record<string, string> = {}) =>
  postForm(app, "/oauth/introspect", params, headers);
const grantRow = async (id: string) => {
  const { oauthGrants } = app.db.tables;
  return first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, id)).limit(1))!;
};

/** A confidential (client_secret_basic) client holding a fresh token pair. */
async function confidential() {
  const user = await makeUser(app);
  const { client, secret } = await makeClient(app, { method: "client_secret_basic" });
  const { authorization, code } = await makeCode(app, { userId: user.id, clientId: client.id });
  const auth = { authorization: basicAuth(client.id, secret!) };
  const res = await postForm(
    app,
    "/oauth/token",
    { grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier },
    auth,
  );
  const tokens = (await res.json()) as { access_token: string; refresh_token: string };
  return { user, client, authorization, tokens, auth };
}

describe("revocation (RFC 7009)", () => {
  test("revoking an access token answers 200 and the token stops authenticating", async () => {
    const { client, tokens } = await connected(app);
    const res = await revoke({ token: tokens.access_token, token_type_hint: "access_token", client_id: client.id });
    expect(res.status).toBe(200);
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).toBeNull();
  });

  test("revoking an access token leaves the grant and its refresh token live", async () => {
    const { client, authorization, tokens } = await connected(app);
    await revoke({ token: tokens.access_token, client_id: client.id });
    expect((await grantRow(authorization.id)).revokedAt).toBeNull();
    expect((await refreshRequest(app, client.id, tokens.refresh_token)).status).toBe(200);
  });

  test("revoking a refresh token ends its whole grant", async () => {
    const { client, authorization, tokens } = await connected(app);
    const res = await revoke({ token: tokens.refresh_token, token_type_hint: "refresh_token", client_id: client.id });
    expect(res.status).toBe(200);
    expect((await grantRow(authorization.id)).revokedAt).toBeNumber();
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).toBeNull();
  });

  test("a wrong token_type_hint still revokes (it is only a hint)", async () => {
    const { client, tokens } = await connected(app);
    await revoke({ token: tokens.access_token, token_type_hint: "refresh_token", client_id: client.id });
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).toBeNull();
  });

  test("an unknown token answers 200", async () => {
    const { client } = await connected(app);
    const res = await revoke({ token: "gate_at_nothing_here", client_id: client.id });
    expect(res.status).toBe(200);
  });

  test("a token of another client answers 200 and is not revoked", async () => {
    const a = await connected(app);
    const b = await connected(app);
    const res = await revoke({ token: a.tokens.refresh_token, client_id: b.client.id });
    expect(res.status).toBe(200);
    expect((await grantRow(a.authorization.id)).revokedAt).toBeNull();
  });

  test("a confidential client authenticates with Basic", async () => {
    const { tokens, auth } = await confidential();
    const res = await revoke({ token: tokens.access_token }, auth);
    expect(res.status).toBe(200);
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).toBeNull();
  });

  test("a confidential client without its secret is 401 invalid_client", async () => {
    const { client, tokens } = await confidential();
    const res = await revoke({ token: tokens.access_token, client_id: client.id });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_client");
  });

  test("a missing token is invalid_request", async () => {
    const { client } = await connected(app);
    const res = await revoke({ client_id: client.id });
    expect(res.status).toBe(400);
  });

  test("answers carry CORS headers", async () => {
    const { client, tokens } = await connected(app);
    const res = await revoke({ token: tokens.access_token, client_id: client.id });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("revocation with the token alone (RFC 7009 §2.1, no client_id)", () => {
  const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;

  test("a public client's access token is revoked: 200", async () => {
    const { tokens } = await connected(app);
    const res = await revoke({ token: tokens.access_token });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).toBeNull();
  });

  test("a public client's refresh token ends its whole grant", async () => {
    const { authorization, tokens } = await connected(app);
    expect((await revoke({ token: tokens.refresh_token, token_type_hint: "refresh_token" })).status).toBe(200);
    expect((await grantRow(authorization.id)).revokedAt).toBeNumber();
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).toBeNull();
  });

  test.each(["gate_at_nothing_here", "gate_rt_aaaaaaaaaaaaaaaa_bbbb", "not a token"])(
    "an unknown or invalid token %p answers 200 (§2.2)",
    async (token) => {
      expect((await revoke({ token })).status).toBe(200);
    },
  );

  test("a missing token is invalid_request", async () => {
    const res = await revoke({});
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_request");
  });

  test("a confidential client's token is 401 invalid_client and stays live", async () => {
    const { tokens } = await confidential();
    const res = await revoke({ token: tokens.access_token });
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toBe("invalid_client");
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).not.toBeNull();
  });

  test("a confidential client's refresh token does not end its grant", async () => {
    const { authorization, tokens } = await confidential();
    expect((await revoke({ token: tokens.refresh_token })).status).toBe(401);
    expect((await grantRow(authorization.id)).revokedAt).toBeNull();
  });

  test("a confidential client's token id with a wrong secret answers 200 like any unknown token", async () => {
    const { tokens } = await confidential();
    const forged = tokens.access_token.slice(0, -1) + (tokens.access_token.endsWith("a") ? "b" : "a");
    expect((await revoke({ token: forged })).status).toBe(200);
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).not.toBeNull();
  });

  test("a confidential client's token with a public client's client_id answers 200 and is not revoked", async () => {
    const { tokens } = await confidential();
    const { client: other } = await makeClient(app);
    expect((await revoke({ token: tokens.access_token, client_id: other.id })).status).toBe(200);
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).not.toBeNull();
  });
});

describe("introspection (RFC 7662)", () => {
  test("an active access token: active, scope, client_id, sub, aud, exp, iat, token_type Bearer", async () => {
    const { client, user, tokens, auth } = await confidential();
    const res = await introspect({ token: tokens.access_token }, auth);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.json();
    const { oauthTokens } = app.db.tables;
    const row = first(
      await app.db
        .select()
        .from(oauthTokens)
        .where(eq(oauthTokens.id, tokens.access_token.slice(8, 24)))
        .limit(1),
    )!;
    expect(body).toMatchObject({
      active: true,
      scope: "mcp:read mcp:write",
      client_id: client.id,
      sub: user.id,
      username: user.email,
      aud: `${app.url}/mcp`,
      exp: row.expiresAt,
      iat: row.createdAt,
      token_type: "Bearer",
    });
  });

  test("an active refresh token has token_type refresh_token", async () => {
    const { tokens, auth } = await confidential();
    const body = await (await introspect({ token: tokens.refresh_token }, auth)).json();
    expect([body.active, body.token_type]).toEqual([true, "refresh_token"]);
  });

  test("a revoked token is just {active: false}", async () => {
    const { tokens, auth } = await confidential();
    await revoke({ token: tokens.access_token }, auth);
    expect(await (await introspect({ token: tokens.access_token }, auth)).json()).toEqual({ active: false });
  });

  test("an unknown token is {active: false}", async () => {
    const { auth } = await confidential();
    expect(await (await introspect({ token: "gate_at_unknown" }, auth)).json()).toEqual({ active: false });
  });

  test("a token of another client is {active: false} to a client", async () => {
    const { auth } = await confidential();
    const other = await connected(app);
    expect(await (await introspect({ token: other.tokens.access_token }, auth)).json()).toEqual({ active: false });
  });

  test("without authentication is 401", async () => {
    const { tokens } = await confidential();
    const res = await introspect({ token: tokens.access_token });
    expect(res.status).toBe(401);
  });

  test("a public client is 401 invalid_client", async () => {
    const { client, tokens } = await connected(app);
    const res = await introspect({ token: tokens.access_token, client_id: client.id });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_client");
  });

  test("an admin's API key may introspect any token", async () => {
    const admin = await makeUser(app, { isAdmin: true });
    const { token: key } = await createApiKey(app.db, {
      userId: admin.id,
      name: "introspect",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const { tokens, user } = await connected(app);
    const body = await (await introspect({ token: tokens.access_token }, { authorization: `Bearer ${key}` })).json();
    expect([body.active, body.sub]).toEqual([true, user.id]);
  });

  test("a non-admin's API key is 401", async () => {
    const someone = await makeUser(app);
    const { token: key } = await createApiKey(app.db, {
      userId: someone.id,
      name: "introspect",
      access: "full",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const { tokens } = await connected(app);
    const res = await introspect({ token: tokens.access_token }, { authorization: `Bearer ${key}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
  });

  test("a rotated refresh token is inactive", async () => {
    const admin = await makeUser(app, { isAdmin: true });
    const { token: key } = await createApiKey(app.db, {
      userId: admin.id,
      name: "introspect",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const { client, tokens } = await connected(app);
    await refreshRequest(app, client.id, tokens.refresh_token);
    expect(
      await (await introspect({ token: tokens.refresh_token }, { authorization: `Bearer ${key}` })).json(),
    ).toEqual({ active: false });
  });
});
