import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { eq } from "drizzle-orm";
import { checkBearer, type BearerDeps, type BearerOutcome } from "../../src/mcp/bearer.ts";
import { createCredentialCache, type CredentialCache } from "../../src/mcp/credential-cache.ts";
import { mcpResourceUrl } from "../../src/oauth/resource.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { advanceClock, nowSeconds } from "../support/clock.ts";
import { connected } from "../oauth/token-fixture.ts";
import { userWithKey } from "./fixture.ts";

// Issue 15: on SQLite the /mcp bearer check answers on the turn that asked,
// lookup, auth epoch and last-use write alike (src/db/execute-now.ts), so the
// route awaits nothing for it. A conversion that awaited any of them would
// hand back a Promise here, and the last use would not be written yet.
let app: TestApp;
let credentials: CredentialCache;
beforeAll(async () => {
  app = await createTestApp();
  credentials = createCredentialCache(app.db);
});
afterAll(() => app.close());
afterEach(() => setSystemTime());

const deps = (): BearerDeps => ({
  db: app.db,
  now: nowSeconds(),
  resourceUrl: mcpResourceUrl(app.config.publicUrl),
  credentials,
  policies: [],
});

/** The verdict, which must be a value and not a promise. */
function verdictNow(token: string): BearerOutcome {
  const verdict = checkBearer(deps(), `Bearer ${token}`);
  expect(verdict).not.toBeInstanceOf(Promise);
  return verdict as BearerOutcome;
}

async function apiKeyLastUsed(id: string) {
  const { apiKeys } = app.db.tables;
  const [row] = await app.db.select({ at: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
  return row?.at;
}

async function connectionLastUsed(id: string) {
  const { oauthGrants } = app.db.tables;
  const [row] = await app.db
    .select({ at: oauthGrants.lastUsedAt })
    .from(oauthGrants)
    .where(eq(oauthGrants.id, id))
    .limit(1);
  return row?.at;
}

describe("the bearer check answers synchronously on SQLite", () => {
  test("an API key: checked, then from the cache, its last use written before the verdict returns", async () => {
    const { user, apiKey, token } = await userWithKey(app);
    const first = verdictNow(token);
    expect(first.ok && first.caller.via).toEqual({ kind: "api_key", id: apiKey.id, name: apiKey.name });
    expect(first.ok && first.caller.userId).toBe(user.id);
    expect(await apiKeyLastUsed(apiKey.id)).toBe(nowSeconds());
    advanceClock(61);
    const hit = verdictNow(token);
    expect(hit.ok && hit.caller).toBe(first.ok && first.caller);
    expect(await apiKeyLastUsed(apiKey.id)).toBe(nowSeconds());
  });

  test("an OAuth access token: checked, then from the cache, the connection's last use written", async () => {
    const { user, authorization, tokens } = await connected(app);
    advanceClock(61);
    const first = verdictNow(tokens.access_token);
    expect(first.ok && first.caller.via.kind).toBe("connection");
    expect(first.ok && first.caller.via.id).toBe(authorization.id);
    expect(first.ok && first.caller.userId).toBe(user.id);
    expect(await connectionLastUsed(authorization.id)).toBe(nowSeconds());
    advanceClock(61);
    const hit = verdictNow(tokens.access_token);
    expect(hit.ok && hit.caller).toBe(first.ok && first.caller);
    expect(await connectionLastUsed(authorization.id)).toBe(nowSeconds());
  });

  test("a refused token is refused synchronously too", () => {
    const verdict = verdictNow("gate_key_aaaaaaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    expect(verdict).toEqual({ ok: false, description: "The API key is unknown, expired or revoked." });
  });
});
