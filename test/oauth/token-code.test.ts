import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { createHash } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { authenticateAccessToken } from "../../src/oauth/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { selectSql } from "../support/sql.ts";
import {
  accessPattern,
  challenge,
  exchangeCode,
  makeClient,
  makeCode,
  makeUser,
  nowSeconds,
  postForm,
  redirectUri,
  refreshPattern,
  verifier,
} from "./token-fixture.ts";
import { advanceClock } from "../support/clock.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());
afterEach(() => {
  setSystemTime();
});

async function fresh(opts: { method?: "none" | "client_secret_post" | "client_secret_basic" } = {}) {
  const user = await makeUser(app);
  const { client, secret } = await makeClient(app, opts);
  const { authorization, code } = await makeCode(app, { userId: user.id, clientId: client.id });
  return { user, client, secret, authorization, code };
}

const codeParams = (clientId: string, code: string, extra: Record<string, string> = {}) => ({
  grant_type: "authorization_code",
  code,
  redirect_uri: redirectUri,
  code_verifier: verifier,
  client_id: clientId,
  ...extra,
});

async function errorOf(res: Response) {
  return ((await res.json()) as { error: string }).error;
}

const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");
const tokenRows = (grantId: string) => {
  const { oauthTokens } = app.db.tables;
  return app.db.select().from(oauthTokens).where(eq(oauthTokens.grantId, grantId));
};

describe("authorization_code success (RFC 6749 §4.1.4, §5.1)", () => {
  test("answers 200 with access_token, Bearer, expires_in, refresh_token and scope", async () => {
    const { client, code } = await fresh();
    const res = await postForm(app, "/oauth/token", codeParams(client.id, code));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "refresh_token", "scope", "token_type"]);
    expect(body.token_type).toBe("Bearer");
    expect(body.expires_in).toBe(app.config.accessTokenTtlSeconds);
    expect(body.scope).toBe("mcp:read mcp:write");
  });

  test("is sent with Cache-Control: no-store", async () => {
    const { client, code } = await fresh();
    const res = await postForm(app, "/oauth/token", codeParams(client.id, code));
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("tokens carry the gate_at_ and gate_rt_ prefixes and 256-bit secrets", async () => {
    const { client, code } = await fresh();
    const body = await exchangeCode(app, client.id, code);
    expect(body.access_token).toMatch(accessPattern);
    expect(body.refresh_token).toMatch(refreshPattern);
  });

  test("stores only SHA-256 hashes of the token secrets", async () => {
    const { client, code, authorization } = await fresh();
    const body = await exchangeCode(app, client.id, code);
    const raw = JSON.stringify(
      await selectSql(app.db, sql`SELECT * FROM oauth_tokens WHERE grant_id = ${authorization.id}`),
    );
    for (const token of [body.access_token, body.refresh_token]) {
      expect(raw).not.toContain(token.slice(-52));
      expect(raw).toContain(sha256Hex(token.slice(-52)));
    }
  });

  test("stores expiry from the access and refresh TTLs", async () => {
    const { client, code, authorization } = await fresh();
    await exchangeCode(app, client.id, code);
    const rows = await tokenRows(authorization.id);
    const access = rows.find((r) => r.kind === "access")!;
    const refresh = rows.find((r) => r.kind === "refresh")!;
    expect(access.expiresAt - access.createdAt).toBe(app.config.accessTokenTtlSeconds);
    expect(refresh.expiresAt - refresh.createdAt).toBe(app.config.refreshTokenTtlSeconds);
  });

  test("the access token authenticates as the user and client of the grant", async () => {
    const { client, code, user } = await fresh();
    const body = await exchangeCode(app, client.id, code);
    const found = await authenticateAccessToken(app.db, body.access_token, nowSeconds());
    expect([found?.user.id, found?.client.id]).toEqual([user.id, client.id]);
  });

  test("accepts a JSON body", async () => {
    const { client, code } = await fresh();
    const res = await app.request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(codeParams(client.id, code)),
    });
    expect(res.status).toBe(200);
  });

  test("marks the code used and touches the client's last use", async () => {
    const { client, code, authorization } = await fresh();
    await exchangeCode(app, client.id, code);
    const { oauthClients, oauthCodes } = app.db.tables;
    const codeRow = first(
      await app.db.select().from(oauthCodes).where(eq(oauthCodes.grantId, authorization.id)).limit(1),
    )!;
    const clientRow = first(await app.db.select().from(oauthClients).where(eq(oauthClients.id, client.id)).limit(1))!;
    expect(codeRow.usedAt).toBeNumber();
    expect(clientRow.lastUsedAt).toBeNumber();
  });

  test("rewrites the client's last use at most once a minute", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { oauthClients } = app.db.tables;
    const lastUsed = async () =>
      (await app.db.select().from(oauthClients).where(eq(oauthClients.id, client.id)).limit(1))[0]!.lastUsedAt;
    const exchangeAfter = async (seconds: number) => {
      advanceClock(seconds);
      const { code } = await makeCode(app, { userId: user.id, clientId: client.id });
      await exchangeCode(app, client.id, code);
    };
    await exchangeAfter(0);
    const first = (await lastUsed())!;
    await exchangeAfter(30);
    expect(await lastUsed()).toBe(first);
    await exchangeAfter(31);
    expect(await lastUsed()).toBe(first + 61);
  });

  test("accepts a resource equal to the bound one", async () => {
    const { client, code } = await fresh();
    const res = await postForm(app, "/oauth/token", codeParams(client.id, code, { resource: `${app.url}/mcp` }));
    expect(res.status).toBe(200);
  });
});

describe("CORS", () => {
  test("a success carries Access-Control-Allow-Origin", async () => {
    const { client, code } = await fresh();
    const res = await postForm(app, "/oauth/token", codeParams(client.id, code));
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  test("an error carries Access-Control-Allow-Origin", async () => {
    const res = await postForm(app, "/oauth/token", { grant_type: "authorization_code", client_id: "nobody" });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  test("the preflight answers 204 with the CORS headers", async () => {
    const res = await app.request("/oauth/token", {
      method: "OPTIONS",
      headers: { origin: "https://inspector.example", "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
  });
});

describe("request errors (RFC 6749 §5.2)", () => {
  test("a repeated parameter is 400 invalid_request", async () => {
    const { client, code } = await fresh();
    const pairs = Object.entries(codeParams(client.id, code));
    const res = await postForm(app, "/oauth/token", [...pairs, ["code", code]]);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_request");
  });

  test("errors are JSON with Cache-Control: no-store", async () => {
    const { client } = await fresh();
    const res = await postForm(app, "/oauth/token", { grant_type: "authorization_code", client_id: client.id });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: expect.any(String) });
  });

  test("an unsupported grant_type is unsupported_grant_type", async () => {
    const { client } = await fresh();
    const res = await postForm(app, "/oauth/token", {
      grant_type: "password",
      client_id: client.id,
      username: "a",
      password: "b",
    });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("unsupported_grant_type");
  });

  test("a text/plain body is invalid_request", async () => {
    const res = await app.request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "grant_type=x",
    });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_request");
  });
});

describe("code checks (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707)", () => {
  const refused: [string, (f: Awaited<ReturnType<typeof fresh>>) => Record<string, string>, string][] = [
    [
      "a missing code_verifier is invalid_request",
      (f) => codeParams(f.client.id, f.code, { code_verifier: "" }),
      "invalid_request",
    ],
    [
      "a wrong code_verifier is invalid_grant",
      (f) => codeParams(f.client.id, f.code, { code_verifier: verifier.replace("d", "e") }),
      "invalid_grant",
    ],
    [
      "a too-short code_verifier is invalid_grant",
      (f) => codeParams(f.client.id, f.code, { code_verifier: "abc" }),
      "invalid_grant",
    ],
    [
      "the challenge itself as verifier is invalid_grant",
      (f) => codeParams(f.client.id, f.code, { code_verifier: challenge }),
      "invalid_grant",
    ],
    [
      "a different redirect_uri is invalid_grant",
      (f) => codeParams(f.client.id, f.code, { redirect_uri: "https://client.example/other" }),
      "invalid_grant",
    ],
    [
      "a missing redirect_uri is invalid_request",
      (f) => codeParams(f.client.id, f.code, { redirect_uri: "" }),
      "invalid_request",
    ],
    [
      "an unknown code is invalid_grant",
      (f) => codeParams(f.client.id, `gate_code_aaaaaaaaaaaaaaaa_${"b".repeat(52)}`),
      "invalid_grant",
    ],
    [
      "a code with the wrong secret is invalid_grant",
      (f) => codeParams(f.client.id, `${f.code.slice(0, -4)}aaaa`),
      "invalid_grant",
    ],
    [
      "a foreign resource is invalid_target",
      (f) => codeParams(f.client.id, f.code, { resource: "https://elsewhere.example/mcp" }),
      "invalid_target",
    ],
  ];
  for (const [name, params, error] of refused) {
    test(name, async () => {
      const f = await fresh();
      const res = await postForm(app, "/oauth/token", params(f));
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toBe(error);
    });
  }

  test("a refused attempt leaves the code usable by its client", async () => {
    const f = await fresh();
    await postForm(app, "/oauth/token", codeParams(f.client.id, f.code, { code_verifier: verifier.replace("d", "e") }));
    expect((await exchangeCode(app, f.client.id, f.code)).access_token).toMatch(accessPattern);
  });

  test("a code of another client is invalid_grant", async () => {
    const f = await fresh();
    const { client: other } = await makeClient(app);
    const res = await postForm(app, "/oauth/token", codeParams(other.id, f.code));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_grant");
  });

  test("an expired code is invalid_grant", async () => {
    const f = await fresh();
    advanceClock(app.config.authCodeTtlSeconds + 1);
    const res = await postForm(app, "/oauth/token", codeParams(f.client.id, f.code));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_grant");
  });

  test("a code of a revoked grant is invalid_grant", async () => {
    const f = await fresh();
    const { oauthGrants } = app.db.tables;
    await app.db.update(oauthGrants).set({ revokedAt: nowSeconds() }).where(eq(oauthGrants.id, f.authorization.id));
    const res = await postForm(app, "/oauth/token", codeParams(f.client.id, f.code));
    expect(await errorOf(res)).toBe("invalid_grant");
  });

  test("a code of a disabled user is invalid_grant", async () => {
    const f = await fresh();
    const { users } = app.db.tables;
    await app.db.update(users).set({ disabledAt: nowSeconds() }).where(eq(users.id, f.user.id));
    const res = await postForm(app, "/oauth/token", codeParams(f.client.id, f.code));
    expect(await errorOf(res)).toBe("invalid_grant");
  });
});

describe("a replayed code (RFC 6749 §4.1.2)", () => {
  test("is invalid_grant", async () => {
    const f = await fresh();
    await exchangeCode(app, f.client.id, f.code);
    const res = await postForm(app, "/oauth/token", codeParams(f.client.id, f.code));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_grant");
  });

  test("revokes the access token from the first exchange", async () => {
    const f = await fresh();
    const first = await exchangeCode(app, f.client.id, f.code);
    await postForm(app, "/oauth/token", codeParams(f.client.id, f.code));
    expect(await authenticateAccessToken(app.db, first.access_token, nowSeconds())).toBeNull();
  });

  test("revokes the grant and every token row it issued", async () => {
    const f = await fresh();
    await exchangeCode(app, f.client.id, f.code);
    await postForm(app, "/oauth/token", codeParams(f.client.id, f.code));
    const { oauthGrants } = app.db.tables;
    const authorization = first(
      await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, f.authorization.id)).limit(1),
    )!;
    expect(authorization.revokedAt).toBeNumber();
    expect((await tokenRows(f.authorization.id)).every((r) => r.revokedAt !== null)).toBe(true);
  });

  test("the first exchange's refresh token no longer works", async () => {
    const f = await fresh();
    const first = await exchangeCode(app, f.client.id, f.code);
    await postForm(app, "/oauth/token", codeParams(f.client.id, f.code));
    const res = await postForm(app, "/oauth/token", {
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
      client_id: f.client.id,
    });
    expect(await errorOf(res)).toBe("invalid_grant");
  });

  test("two simultaneous exchanges: exactly one succeeds", async () => {
    const f = await fresh();
    const [a, b] = await Promise.all([0, 1].map(() => postForm(app, "/oauth/token", codeParams(f.client.id, f.code))));
    expect([a!.status, b!.status].sort()).toEqual([200, 400]);
  });
});
