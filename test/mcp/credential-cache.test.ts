import { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { join } from "node:path";
import { databaseFileName } from "../../src/db/client.ts";
import { createApiKey, revokeApiKey } from "../../src/keys/api-keys.ts";
import { readAuthEpoch } from "../../src/db/auth-epoch.ts";
import { revokeConnection } from "../../src/oauth/connections.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { advanceClock } from "../support/clock.ts";
import { makeUser } from "../support/factories.ts";
import { connected, nowSeconds, refreshRequest } from "../oauth/token-fixture.ts";
import { rpc, rpcMessages, userWithKey } from "./fixture.ts";

// The bearer check remembers the tokens that passed while the auth epoch
// stands still (src/mcp/credential-cache.ts). These tests change credentials
// in this process, through a second SQLite connection and through the CLI in
// another process, and expect the very next request to see it; every test
// first makes the token pass twice, so the request after the change would be
// answered from the cache if the rule were broken. The requests come over a
// real socket, as every request does in service: the epoch is read once per
// event-loop turn (credential-cache.ts), and a request sent after a commit
// is read from its socket in a later turn than the commit.
let app: TestApp;
let other: Database;
beforeAll(async () => {
  app = await createTestApp();
  other = new Database(join(app.dataDir, databaseFileName));
  other.run("PRAGMA busy_timeout = 5000");
});
afterAll(async () => {
  other.close();
  await app.close();
});
afterEach(() => setSystemTime());

const listTools = { jsonrpc: "2.0", id: 1, method: "tools/list" };
const legacy = { "mcp-protocol-version": "2025-06-18" };
const status = async (token: string) => {
  const res = await rpc(app, token, listTools, legacy);
  await res.arrayBuffer();
  return res.status;
};
/** A token that passed twice, so the next request would be a cache hit. */
const cached = async (token: string) => {
  expect(await status(token)).toBe(200);
  expect(await status(token)).toBe(200);
};

describe("a cached credential changed in this process fails on the next request", () => {
  test("an API key revoked", async () => {
    const { user, apiKey, token } = await userWithKey(app);
    await cached(token);
    expect(await revokeApiKey(app.db, { id: apiKey.id, ownerId: user.id, now: nowSeconds() })).toBe(true);
    expect(await status(token)).toBe(401);
  });

  test("a connection revoked", async () => {
    const { user, authorization, tokens } = await connected(app);
    await cached(tokens.access_token);
    expect(await revokeConnection(app.db, { id: authorization.id, ownerId: user.id, now: nowSeconds() })).toBe(true);
    expect(await status(tokens.access_token)).toBe(401);
  });
});

describe("a cached credential fails on the next request after", () => {
  test("the CLI revokes the key in another process", async () => {
    const { apiKey, token } = await userWithKey(app);
    await cached(token);
    const cli = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/main.ts"), "key", "revoke", apiKey.id], {
      env: { ...process.env, GATEHOUSE_DATA_DIR: app.dataDir, ...app.databaseEnv },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await cli.exited).toBe(0);
    expect(await status(token)).toBe(401);
  });

  test("the key's expiry passes, with nothing written", async () => {
    const user = await makeUser(app);
    const { token } = await createApiKey(app.db, {
      userId: user.id,
      name: "Short",
      access: "full",
      expiresInSeconds: 60,
      now: nowSeconds(),
    });
    await cached(token);
    advanceClock(61);
    expect(await status(token)).toBe(401);
  });

  test("the access token's expiry passes, with nothing written", async () => {
    const { tokens } = await connected(app);
    await cached(tokens.access_token);
    advanceClock(tokens.expires_in + 1);
    expect(await status(tokens.access_token)).toBe(401);
  });
});

describe("a cached credential", () => {
  test("still records its last use, at most once a minute", async () => {
    const { apiKey, token } = await userWithKey(app);
    await cached(token);
    const lastUsed = () =>
      other.query<{ t: number }, [string]>("SELECT last_used_at AS t FROM api_keys WHERE id = ?").get(apiKey.id)!.t;
    const first = lastUsed();
    advanceClock(61);
    await cached(token);
    expect(lastUsed()).toBe(first + 61);
  });
});

describe("a cached credential changed by another connection fails on the next request", () => {
  test("an API key revoked elsewhere", async () => {
    const { apiKey, token } = await userWithKey(app);
    expect(await status(token)).toBe(200);
    expect(await status(token)).toBe(200);
    other.run("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [nowSeconds(), apiKey.id]);
    expect(await status(token)).toBe(401);
  });

  test("an API key whose expiry was moved into the past elsewhere", async () => {
    const { apiKey, token } = await userWithKey(app);
    expect(await status(token)).toBe(200);
    other.run("UPDATE api_keys SET expires_at = ? WHERE id = ?", [nowSeconds() - 1, apiKey.id]);
    expect(await status(token)).toBe(401);
  });

  test("a user disabled elsewhere", async () => {
    const { user, token } = await userWithKey(app);
    expect(await status(token)).toBe(200);
    other.run("UPDATE users SET disabled_at = ? WHERE id = ?", [nowSeconds(), user.id]);
    expect(await status(token)).toBe(401);
  });

  test("a key narrowed to read-only elsewhere loses its write tools at once", async () => {
    const { apiKey, token } = await userWithKey(app);
    const names = async () =>
      (await rpcMessages(await rpc(app, token, listTools, legacy)))[0]!.result.tools.map(
        (t: { name: string }) => t.name,
      );
    expect(await names()).toContain("gatehouse__revoke_connection");
    other.run("UPDATE api_keys SET scope = 'mcp:read' WHERE id = ?", [apiKey.id]);
    expect(await names()).not.toContain("gatehouse__revoke_connection");
  });

  test("a connection revoked elsewhere", async () => {
    const { authorization, tokens } = await connected(app);
    expect(await status(tokens.access_token)).toBe(200);
    other.run("UPDATE oauth_grants SET revoked_at = ? WHERE id = ?", [nowSeconds(), authorization.id]);
    expect(await status(tokens.access_token)).toBe(401);
  });

  test("an access token deleted elsewhere", async () => {
    const { authorization, tokens } = await connected(app);
    expect(await status(tokens.access_token)).toBe(200);
    other.run("DELETE FROM oauth_tokens WHERE grant_id = ?", [authorization.id]);
    expect(await status(tokens.access_token)).toBe(401);
  });
});

describe("the auth epoch", () => {
  test("rises on a revocation", async () => {
    const { apiKey } = await userWithKey(app);
    const before = await readAuthEpoch(app.db);
    other.run("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [nowSeconds(), apiKey.id]);
    expect(await readAuthEpoch(app.db)).toBe(before + 1);
  });

  test("stands still when only a last-use time is written, so the hot path's own writes keep the cache", async () => {
    const { apiKey } = await userWithKey(app);
    const { authorization } = await connected(app);
    const before = await readAuthEpoch(app.db);
    other.run("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [nowSeconds(), apiKey.id]);
    other.run("UPDATE oauth_grants SET last_used_at = ? WHERE id = ?", [nowSeconds(), authorization.id]);
    other.run("UPDATE oauth_clients SET last_used_at = ? WHERE id = ?", [nowSeconds(), authorization.clientId]);
    expect(await readAuthEpoch(app.db)).toBe(before);
  });

  test("stands still when a refresh token rotates (the bearer check takes access tokens only)", async () => {
    const { client, tokens } = await connected(app);
    await cached(tokens.access_token);
    const before = await readAuthEpoch(app.db);
    const res = await refreshRequest(app, client.id, tokens.refresh_token);
    expect(res.status).toBe(200);
    expect(await readAuthEpoch(app.db)).toBe(before);
    expect(await status(tokens.access_token)).toBe(200);
  });

  test("stands still when a credential is created", async () => {
    const before = await readAuthEpoch(app.db);
    await userWithKey(app);
    expect(await readAuthEpoch(app.db)).toBe(before);
  });
});
