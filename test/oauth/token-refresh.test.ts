import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { revokeConnection } from "../../src/oauth/connections.ts";
import { authenticateAccessToken } from "../../src/oauth/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { rpc } from "../mcp/fixture.ts";
import {
  accessPattern,
  connected,
  nowSeconds,
  refreshPattern,
  refreshRequest,
  type TokenBody,
} from "./token-fixture.ts";
import { advanceClock } from "../support/clock.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ env: { GATEHOUSE_REFRESH_GRACE: "60" }, listen: false });
});
afterAll(() => app.close());
afterEach(() => {
  setSystemTime();
});

async function refreshed(
  clientId: string,
  refreshToken: string,
  extra: Record<string, string> = {},
): Promise<TokenBody> {
  const res = await refreshRequest(app, clientId, refreshToken, extra);
  if (res.status !== 200) throw new Error(`refresh failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as TokenBody;
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: string }).error;
}

const tokensOf = (grantId: string) => {
  const { oauthTokens } = app.db.tables;
  return app.db.select().from(oauthTokens).where(eq(oauthTokens.grantId, grantId));
};

describe("rotation (RFC 6749 §6, OAuth 2.1 §4.3.1)", () => {
  test("the code exchange records the connection's last use, and a refresh a minute later records it again", async () => {
    const { client, authorization, tokens } = await connected(app);
    const { oauthGrants } = app.db.tables;
    const lastUsed = async () =>
      first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, authorization.id)).limit(1))!.lastUsedAt;
    const exchanged = (await lastUsed())!;
    expect(exchanged).toBeGreaterThanOrEqual(authorization.createdAt);
    advanceClock(30);
    const next = await refreshed(client.id, tokens.refresh_token);
    expect(await lastUsed()).toBe(exchanged);
    advanceClock(31);
    await refreshed(client.id, next.refresh_token);
    expect(await lastUsed()).toBe(exchanged + 61);
  });

  test("a refresh answers 200 with a new pair in the token response shape", async () => {
    const { client, tokens } = await connected(app);
    const res = await refreshRequest(app, client.id, tokens.refresh_token);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.json();
    expect(body.access_token).toMatch(accessPattern);
    expect(body.refresh_token).toMatch(refreshPattern);
    expect([body.token_type, body.expires_in, body.scope]).toEqual([
      "Bearer",
      app.config.accessTokenTtlSeconds,
      "mcp:read mcp:write",
    ]);
  });

  test("every refresh returns a different refresh token", async () => {
    const { client, tokens } = await connected(app);
    const second = await refreshed(client.id, tokens.refresh_token);
    const third = await refreshed(client.id, second.refresh_token);
    expect(new Set([tokens.refresh_token, second.refresh_token, third.refresh_token]).size).toBe(3);
    expect(new Set([tokens.access_token, second.access_token, third.access_token]).size).toBe(3);
  });

  test("records rotatedAt and the successor ids on the old row", async () => {
    const { client, authorization, tokens } = await connected(app);
    const next = await refreshed(client.id, tokens.refresh_token);
    const old = (await tokensOf(authorization.id)).find((r) => tokens.refresh_token.includes(r.id))!;
    expect(old.rotatedAt).toBeNumber();
    expect(next.refresh_token).toContain(old.nextRefreshId!);
    expect(next.access_token).toContain(old.nextAccessId!);
  });

  test("the new access token authenticates", async () => {
    const { client, tokens, user } = await connected(app);
    const next = await refreshed(client.id, tokens.refresh_token);
    expect((await authenticateAccessToken(app.db, next.access_token, nowSeconds()))?.user.id).toBe(user.id);
  });

  test("accepts a JSON body", async () => {
    const { client, tokens } = await connected(app);
    const res = await app.request("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: client.id }),
    });
    expect(res.status).toBe(200);
  });

  test("a missing refresh_token is invalid_request", async () => {
    const { client } = await connected(app);
    const res = await refreshRequest(app, client.id, "");
    expect(await errorOf(res)).toBe("invalid_request");
  });

  test("a refresh token of another client is invalid_grant", async () => {
    const a = await connected(app);
    const b = await connected(app);
    const res = await refreshRequest(app, b.client.id, a.tokens.refresh_token);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_grant");
  });

  test("an access token presented as refresh_token is invalid_grant", async () => {
    const { client, tokens } = await connected(app);
    const res = await refreshRequest(app, client.id, tokens.access_token);
    expect(await errorOf(res)).toBe("invalid_grant");
  });
});

describe("the grace window (simultaneous refreshes)", () => {
  test("the just-rotated token returns the same pair again within the window", async () => {
    const { client, tokens } = await connected(app);
    const first = await refreshed(client.id, tokens.refresh_token);
    advanceClock(30);
    const again = await refreshed(client.id, tokens.refresh_token);
    expect(again.access_token).toBe(first.access_token);
    expect(again.refresh_token).toBe(first.refresh_token);
  });

  test("the repeated pair reports the access token's remaining lifetime", async () => {
    // Frozen from here, so no wall-clock second passes between the issue and the 30 s step.
    setSystemTime(new Date());
    const { client, tokens } = await connected(app);
    await refreshed(client.id, tokens.refresh_token);
    advanceClock(30);
    const again = await refreshed(client.id, tokens.refresh_token);
    expect(again.expires_in).toBe(app.config.accessTokenTtlSeconds - 30);
  });

  test("two simultaneous refreshes both answer 200 with the same pair", async () => {
    const { client, tokens } = await connected(app);
    const [a, b] = await Promise.all([0, 1].map(() => refreshRequest(app, client.id, tokens.refresh_token)));
    expect([a!.status, b!.status]).toEqual([200, 200]);
    const [x, y] = (await Promise.all([a!.json(), b!.json()])) as TokenBody[];
    expect([y!.access_token, y!.refresh_token]).toEqual([x!.access_token, x!.refresh_token]);
  });

  test("the repeat does not revoke anything", async () => {
    const { client, authorization, tokens } = await connected(app);
    await refreshed(client.id, tokens.refresh_token);
    await refreshed(client.id, tokens.refresh_token);
    expect((await tokensOf(authorization.id)).every((r) => r.revokedAt === null)).toBe(true);
  });

  test("after the window the old token is invalid_grant", async () => {
    const { client, tokens } = await connected(app);
    await refreshed(client.id, tokens.refresh_token);
    advanceClock(61);
    const res = await refreshRequest(app, client.id, tokens.refresh_token);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_grant");
  });

  test("reuse after the window revokes the whole family, the newest refresh token included", async () => {
    const { client, authorization, tokens } = await connected(app);
    const second = await refreshed(client.id, tokens.refresh_token);
    const third = await refreshed(client.id, second.refresh_token);
    advanceClock(61);
    await refreshRequest(app, client.id, tokens.refresh_token);
    expect((await tokensOf(authorization.id)).every((r) => r.revokedAt !== null)).toBe(true);
    expect(await errorOf(await refreshRequest(app, client.id, third.refresh_token))).toBe("invalid_grant");
  });

  test("reuse after the window makes every access token of the family fail", async () => {
    const { client, tokens } = await connected(app);
    const second = await refreshed(client.id, tokens.refresh_token);
    advanceClock(61);
    await refreshRequest(app, client.id, tokens.refresh_token);
    const now = nowSeconds();
    const found = [tokens.access_token, second.access_token].map((t) => authenticateAccessToken(app.db, t, now));
    expect(await Promise.all(found)).toEqual([null, null]);
  });

  test("reuse after the window revokes the grant", async () => {
    const { client, authorization, tokens } = await connected(app);
    await refreshed(client.id, tokens.refresh_token);
    advanceClock(61);
    await refreshRequest(app, client.id, tokens.refresh_token);
    const { oauthGrants } = app.db.tables;
    expect(
      first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, authorization.id)).limit(1))!.revokedAt,
    ).toBeNumber();
  });

  test("within the window, a token two rotations back is reuse: the family ends", async () => {
    const { client, tokens } = await connected(app);
    const second = await refreshed(client.id, tokens.refresh_token);
    const third = await refreshed(client.id, second.refresh_token);
    const res = await refreshRequest(app, client.id, tokens.refresh_token);
    expect(await errorOf(res)).toBe("invalid_grant");
    expect(await authenticateAccessToken(app.db, third.access_token, nowSeconds())).toBeNull();
  });

  test("the window follows GATEHOUSE_REFRESH_GRACE", async () => {
    const short = await createTestApp({ env: { GATEHOUSE_REFRESH_GRACE: "5" }, listen: false });
    try {
      const { client, tokens } = await connected(short);
      expect((await refreshRequest(short, client.id, tokens.refresh_token)).status).toBe(200);
      advanceClock(6);
      expect(await errorOf(await refreshRequest(short, client.id, tokens.refresh_token))).toBe("invalid_grant");
    } finally {
      await short.close();
    }
  });
});

describe("GATEHOUSE_REFRESH_GRACE=0: any reuse revokes the family (the strict rule)", () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await createTestApp({ env: { GATEHOUSE_REFRESH_GRACE: "0" }, listen: false });
  });
  afterAll(() => strict.close());

  const listTools = (app: TestApp, token: string) =>
    rpc(app, token, { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} });

  /** Connects, refreshes once, then presents the just-rotated token again at once. */
  async function replayed() {
    const { client, authorization, tokens } = await connected(strict);
    const next = await refreshRequest(strict, client.id, tokens.refresh_token);
    expect(next.status).toBe(200);
    const newest = (await next.json()) as TokenBody;
    const replay = await refreshRequest(strict, client.id, tokens.refresh_token);
    return { client, authorization, newest, replay };
  }

  test("the replay of the just-rotated token is invalid_grant", async () => {
    const { replay } = await replayed();
    expect(replay.status).toBe(400);
    expect(await errorOf(replay)).toBe("invalid_grant");
  });

  test("the replay revokes the grant and every token of it", async () => {
    const { authorization } = await replayed();
    const { oauthGrants, oauthTokens } = strict.db.tables;
    expect(
      first(await strict.db.select().from(oauthGrants).where(eq(oauthGrants.id, authorization.id)).limit(1))!.revokedAt,
    ).toBeNumber();
    expect(
      (await strict.db.select().from(oauthTokens).where(eq(oauthTokens.grantId, authorization.id))).every(
        (r) => r.revokedAt !== null,
      ),
    ).toBe(true);
  });

  test("after the replay the newest access token gets 401 on /mcp", async () => {
    const { newest } = await replayed();
    const res = await listTools(strict, newest.access_token);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  test("after the replay the newest refresh token is invalid_grant", async () => {
    const { client, newest } = await replayed();
    expect(await errorOf(await refreshRequest(strict, client.id, newest.refresh_token))).toBe("invalid_grant");
  });

  test("without a replay the newest access token works on /mcp", async () => {
    const { client, tokens } = await connected(strict);
    const newest = (await (await refreshRequest(strict, client.id, tokens.refresh_token)).json()) as TokenBody;
    expect((await listTools(strict, newest.access_token)).status).toBe(200);
  });
});

describe("the default grace (60 s) keeps the repeat", () => {
  test("with GATEHOUSE_REFRESH_GRACE unset, the just-rotated token gets the same pair again", async () => {
    const plain = await createTestApp({ listen: false });
    try {
      expect(plain.config.refreshGraceSeconds).toBe(60);
      const { client, tokens } = await connected(plain);
      const first = (await (await refreshRequest(plain, client.id, tokens.refresh_token)).json()) as TokenBody;
      const again = await refreshRequest(plain, client.id, tokens.refresh_token);
      expect(again.status).toBe(200);
      expect(((await again.json()) as TokenBody).refresh_token).toBe(first.refresh_token);
    } finally {
      await plain.close();
    }
  });
});

describe("scope on refresh (RFC 6749 §6)", () => {
  test("a narrower scope is granted", async () => {
    const { client, tokens } = await connected(app);
    const next = await refreshed(client.id, tokens.refresh_token, { scope: "mcp:read" });
    expect(next.scope).toBe("mcp:read");
  });

  test("the narrowed access token carries only the narrower scope", async () => {
    const { client, tokens } = await connected(app);
    const next = await refreshed(client.id, tokens.refresh_token, { scope: "mcp:read" });
    expect((await authenticateAccessToken(app.db, next.access_token, nowSeconds()))?.token.scope).toBe("mcp:read");
  });

  test("a wider scope is invalid_scope", async () => {
    const { client, tokens } = await connected(app, { scope: "mcp:read" });
    const res = await refreshRequest(app, client.id, tokens.refresh_token, { scope: "mcp:read mcp:write" });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_scope");
  });

  test("an invalid_scope refusal leaves the refresh token usable", async () => {
    const { client, tokens } = await connected(app, { scope: "mcp:read" });
    await refreshRequest(app, client.id, tokens.refresh_token, { scope: "mcp:write" });
    expect((await refreshRequest(app, client.id, tokens.refresh_token)).status).toBe(200);
  });

  test("an omitted scope gets the whole granted scope", async () => {
    const { client, tokens } = await connected(app, { scope: "mcp:read" });
    expect((await refreshed(client.id, tokens.refresh_token)).scope).toBe("mcp:read");
  });
});

describe("refusals", () => {
  test("a refresh token of a revoked grant is invalid_grant", async () => {
    const { client, authorization, tokens, user } = await connected(app);
    await revokeConnection(app.db, { id: authorization.id, ownerId: user.id, now: nowSeconds() });
    const res = await refreshRequest(app, client.id, tokens.refresh_token);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_grant");
  });

  test("an expired refresh token is invalid_grant", async () => {
    const { client, tokens } = await connected(app);
    advanceClock(app.config.refreshTokenTtlSeconds + 1);
    const res = await refreshRequest(app, client.id, tokens.refresh_token);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toBe("invalid_grant");
  });

  test("a refresh token of a disabled user is invalid_grant", async () => {
    const { client, tokens, user } = await connected(app);
    const { users } = app.db.tables;
    await app.db.update(users).set({ disabledAt: nowSeconds() }).where(eq(users.id, user.id));
    expect(await errorOf(await refreshRequest(app, client.id, tokens.refresh_token))).toBe("invalid_grant");
  });

  test("a malformed refresh token is invalid_grant", async () => {
    const { client } = await connected(app);
    expect(await errorOf(await refreshRequest(app, client.id, "gate_rt_nonsense"))).toBe("invalid_grant");
  });
});
