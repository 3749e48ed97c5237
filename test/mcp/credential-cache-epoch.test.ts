import { afterAll, beforeAll, expect, test } from "bun:test";
import { createApiKey, revokeApiKey } from "../../src/keys/api-keys.ts";
import { createCredentialCache, type Miss } from "../../src/mcp/credential-cache.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { makeUser } from "../support/factories.ts";

// A check that passed is remembered only under the epoch it was judged by.
// On PostgreSQL a full check is awaited, so a revocation can commit while it
// is on its way; if another request has meanwhile seen the raised epoch, the
// check's verdict (made before the revocation) must not enter the cache of
// the new epoch, or the revoked credential would pass until the next change.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());

const nowSeconds = () => Math.floor(Date.now() / 1000);
const caller = { expiresAt: null } as never;
const verified = { caller, touch: () => {} };

/** The next event-loop turn: the cache reads the epoch once per turn. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test("a verdict from before a revocation is not remembered once another request has seen the revocation", async () => {
  const cache = createCredentialCache(app.db);
  const user = await makeUser(app);
  const key = await createApiKey(app.db, {
    userId: user.id,
    name: "k",
    access: "full",
    expiresInSeconds: null,
    now: nowSeconds(),
  });
  const miss = (await cache.get("digest-of-the-key", nowSeconds())) as Miss;
  expect(miss).toHaveProperty("epoch");
  // The revocation commits while the key's full check is still on its way…
  expect(await revokeApiKey(app.db, { id: key.apiKey.id, ownerId: user.id, now: nowSeconds() })).toBe(true);
  await nextTurn();
  // …another request reads the raised epoch…
  await cache.get("digest-of-another-token", nowSeconds());
  // …then the check's (stale) pass arrives: it must not be kept.
  cache.set("digest-of-the-key", verified, miss);
  expect(await cache.get("digest-of-the-key", nowSeconds())).toHaveProperty("epoch");
});

test("a verdict made under the epoch still current is remembered", async () => {
  const cache = createCredentialCache(app.db);
  const miss = (await cache.get("digest", nowSeconds())) as Miss;
  cache.set("digest", verified, miss);
  await nextTurn();
  expect(await cache.get("digest", nowSeconds())).toBe(caller);
});
