import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { type AuthEpochFeed, listenForAuthEpoch, readAuthEpoch } from "../../src/db/auth-epoch.ts";
import { createApiKey, revokeApiKey } from "../../src/keys/api-keys.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { makeUser } from "../support/factories.ts";
import { onPostgres } from "../support/store.ts";
import { waitFor } from "../support/wait-for.ts";

// GATEHOUSE_DATABASE_LISTEN (src/db/auth-epoch.ts): the epoch kept current by
// the triggers' notifications, a read while the listening connection is not
// known to be up, and a fresh read after it comes back, since a notification
// sent during the gap is lost.

describe.skipIf(!onPostgres)("the auth epoch fed by LISTEN/NOTIFY", () => {
  let app: TestApp;
  let feed: AuthEpochFeed;
  let admin: SQL;
  beforeAll(async () => {
    app = await createTestApp({ listen: false });
    feed = await listenForAuthEpoch(app.db);
    admin = new SQL(app.databaseEnv.GATEHOUSE_DATABASE_URL!, { max: 1 });
  });
  afterAll(async () => {
    await feed.close();
    await admin.close();
    await app.close();
  });

  const nowSeconds = () => Math.floor(Date.now() / 1000);
  /** A change that raises the epoch: a key made and revoked. */
  const revokeAKey = async () => {
    const user = await makeUser(app);
    const { apiKey } = await createApiKey(app.db, {
      userId: user.id,
      name: "k",
      access: "full",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    expect(await revokeApiKey(app.db, { id: apiKey.id, ownerId: user.id, now: nowSeconds() })).toBe(true);
  };
  const liveValue = () => {
    const value = feed.read();
    return value instanceof Promise ? null : value;
  };

  test("once subscribed, the epoch is known at once and follows each commit", async () => {
    await waitFor(() => liveValue() !== null);
    expect(liveValue()).toBe(await readAuthEpoch(app.db));
    await revokeAKey();
    const raised = await readAuthEpoch(app.db);
    await waitFor(() => liveValue() === raised);
  });

  test("while the listening connection is down the feed reads; back up, it has what was committed in the gap", async () => {
    await waitFor(() => liveValue() !== null);
    const listeners =
      await admin`SELECT pid FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' AND datname = current_database()`;
    expect(listeners.length).toBeGreaterThan(0);
    for (const { pid } of listeners) await admin`SELECT pg_terminate_backend(${pid})`;
    await waitFor(() => liveValue() === null, 5000);
    await revokeAKey();
    const raised = await readAuthEpoch(app.db);
    await waitFor(() => liveValue() === raised);
  });
});
