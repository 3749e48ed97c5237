import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, setSystemTime, test } from "bun:test";
import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { insertPendingRequest } from "../../src/oauth/pending-requests-store.ts";
import { purgeExpiredOAuth } from "../../src/oauth/purge.ts";
import { authenticateAccessToken } from "../../src/oauth/tokens.ts";
import { openSession } from "../../src/accounts/sessions.ts";
import { mcpResourceUrl } from "../../src/oauth/resource.ts";
import { randomString } from "../../src/security/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import {
  challenge,
  connected,
  makeClient,
  makeCode,
  makeUser,
  nowSeconds,
  redirectUri,
  refreshRequest,
} from "./token-fixture.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());
// Frozen in each test, so no wall-clock second passes between making a row and the purge the test
// times against it (a "keeps" test's purge one second short of the expiry would then reach it).
beforeEach(() => {
  setSystemTime(new Date());
});
afterEach(() => {
  setSystemTime();
});

const tokenRow = async (token: string) => {
  const { oauthTokens } = app.db.tables;
  return first(
    await app.db
      .select()
      .from(oauthTokens)
      .where(eq(oauthTokens.id, token.slice(8, 24)))
      .limit(1),
  );
};
const codeRow = async (code: string) => {
  const { oauthCodes } = app.db.tables;
  return first(
    await app.db
      .select()
      .from(oauthCodes)
      .where(eq(oauthCodes.id, code.slice(10, 26)))
      .limit(1),
  );
};

describe("purgeExpiredOAuth", () => {
  test("deletes an expired code", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { code } = await makeCode(app, { userId: user.id, clientId: client.id });
    await purgeExpiredOAuth(app.db, nowSeconds() + app.config.authCodeTtlSeconds);
    expect(await codeRow(code)).toBeNull();
  });

  test("keeps a code that has not expired", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { code } = await makeCode(app, { userId: user.id, clientId: client.id });
    await purgeExpiredOAuth(app.db, nowSeconds() + app.config.authCodeTtlSeconds - 1);
    expect(await codeRow(code)).not.toBeNull();
  });

  test("deletes an expired access token but keeps its unexpired refresh token", async () => {
    const { tokens } = await connected(app);
    await purgeExpiredOAuth(app.db, nowSeconds() + app.config.accessTokenTtlSeconds);
    expect(await tokenRow(tokens.access_token)).toBeNull();
    expect(await tokenRow(tokens.refresh_token)).not.toBeNull();
  });

  test("keeps a live access token, which still authenticates", async () => {
    const { tokens } = await connected(app);
    await purgeExpiredOAuth(app.db, nowSeconds() + app.config.accessTokenTtlSeconds - 1);
    expect(await authenticateAccessToken(app.db, tokens.access_token, nowSeconds())).not.toBeNull();
  });

  test("deletes an expired refresh token", async () => {
    const { tokens } = await connected(app);
    await purgeExpiredOAuth(app.db, nowSeconds() + app.config.refreshTokenTtlSeconds);
    expect(await tokenRow(tokens.refresh_token)).toBeNull();
  });

  test("keeps a rotated refresh token inside its grace window, which still answers the same pair", async () => {
    const { client, tokens } = await connected(app);
    const first = await (await refreshRequest(app, client.id, tokens.refresh_token)).json();
    await purgeExpiredOAuth(app.db, nowSeconds() + 1);
    const again = await (await refreshRequest(app, client.id, tokens.refresh_token)).json();
    expect(again.refresh_token).toBe(first.refresh_token);
  });

  test("deletes an expired pending request and keeps a live one", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    await openSession(app.db, { userId: user.id, apiKeyId: null, apiKeyExpiresAt: null, now: nowSeconds() });
    const { oauthPendingRequests, sessions } = app.db.tables;
    const sessionId = first(
      await app.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, user.id)).limit(1),
    )!.id;
    const pending = (id: string, expiresAt: number) => ({
      id,
      clientId: client.id,
      sessionId,
      redirectUri,
      scope: "mcp:read",
      state: null,
      codeChallenge: challenge,
      resource: mcpResourceUrl(app.url),
      createdAt: nowSeconds(),
      expiresAt,
    });
    const expired = randomString(10);
    const live = randomString(10);
    await insertPendingRequest(app.db, pending(expired, nowSeconds() - 1));
    await insertPendingRequest(app.db, pending(live, nowSeconds() + 600));
    await purgeExpiredOAuth(app.db, nowSeconds());
    const ids = (await app.db.select({ id: oauthPendingRequests.id }).from(oauthPendingRequests)).map((r) => r.id);
    expect([ids.includes(expired), ids.includes(live)]).toEqual([false, true]);
  });

  test("returns the counts it deleted", async () => {
    const fresh = await createTestApp({ listen: false });
    try {
      const { tokens } = await connected(fresh);
      expect(tokens.access_token).toBeString();
      expect(await purgeExpiredOAuth(fresh.db, nowSeconds() + fresh.config.refreshTokenTtlSeconds)).toEqual({
        codes: 1,
        deviceCodes: 0,
        bridgeEntries: 0,
        pendingRequests: 0,
        tokens: 2,
        registrations: 0,
      });
    } finally {
      await fresh.close();
    }
  });
});
