import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { openSession } from "../../src/accounts/sessions.ts";
import { loadConfig } from "../../src/config.ts";
import { openStore } from "../../src/db/open.ts";
import { closeStore, withExclusiveJob } from "../../src/db/operations.ts";
import type { Store } from "../../src/db/store.ts";
import { createLogger } from "../../src/log.ts";
import { purgeOnce } from "../../src/ops/purge.ts";
import { randomString } from "../../src/security/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { insertUser } from "../support/rows.ts";
import { onPostgres } from "../support/store.ts";

// The periodic purge (src/ops/purge.ts), and on PostgreSQL the advisory lock
// that lets one instance at a time run a round (issue 16).

const silent = createLogger(() => {});
const nowSeconds = () => Math.floor(Date.now() / 1000);
const retentionSeconds = 90 * 24 * 3600;

let app: TestApp;
beforeEach(async () => {
  app = await createTestApp({ listen: false });
});
afterEach(() => app.close());

/** A session that expired long ago, of a user of its own. */
async function expiredSession(db: Store): Promise<void> {
  const userId = randomString(10);
  await insertUser(db, { id: userId, email: `${userId}@example.com`, isAdmin: false, createdAt: 0 });
  await openSession(db, { userId, apiKeyId: null, apiKeyExpiresAt: null, now: 1000 });
}

const sessionCount = async (db: Store) => (await db.select().from(db.tables.sessions)).length;

/** Another instance's store on the app's database, with `poolSize` connections. */
function secondInstance(poolSize = 10): Store {
  return openStore(
    loadConfig({
      GATEHOUSE_DATA_DIR: app.dataDir,
      ...app.databaseEnv,
      GATEHOUSE_DATABASE_POOL_SIZE: String(poolSize),
    }),
  );
}

describe("a purge round", () => {
  test("deletes expired sessions and says it ran", async () => {
    await expiredSession(app.db);
    expect(await purgeOnce(app.db, silent, nowSeconds(), retentionSeconds)).toBe(true);
    expect(await sessionCount(app.db)).toBe(0);
  });
});

describe.skipIf(!onPostgres)("on PostgreSQL, with several instances", () => {
  test("an instance skips the round while another runs one, and runs the next", async () => {
    await expiredSession(app.db);
    const other = secondInstance();
    try {
      const ranMeanwhile = await withExclusiveJob(other, "purge", async () => {
        expect(await purgeOnce(app.db, silent, nowSeconds(), retentionSeconds)).toBe(false);
        expect(await sessionCount(app.db)).toBe(1);
      });
      expect(ranMeanwhile).toBe(true);
      expect(await purgeOnce(app.db, silent, nowSeconds(), retentionSeconds)).toBe(true);
      expect(await sessionCount(app.db)).toBe(0);
    } finally {
      await closeStore(other);
    }
  });

  test("a job of another name runs meanwhile", async () => {
    const other = secondInstance();
    try {
      await withExclusiveJob(other, "purge", async () => {
        expect(await withExclusiveJob(app.db, "another job", async () => {})).toBe(true);
      });
    } finally {
      await closeStore(other);
    }
  });

  test("a round runs on a pool of one connection: the job uses the lock's own", async () => {
    await expiredSession(app.db);
    const single = secondInstance(1);
    try {
      expect(await purgeOnce(single, silent, nowSeconds(), retentionSeconds)).toBe(true);
      expect(await sessionCount(app.db)).toBe(0);
    } finally {
      await closeStore(single);
    }
  });

  test("a job that throws releases the lock with its transaction", async () => {
    await expect(
      withExclusiveJob(app.db, "purge", async () => {
        throw new Error("job failed");
      }),
    ).rejects.toThrow("job failed");
    expect(await purgeOnce(app.db, silent, nowSeconds(), retentionSeconds)).toBe(true);
  });
});
