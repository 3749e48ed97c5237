import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient, SQL } from "bun";
import { loadConfig } from "../../src/config.ts";
import { postgresClientOf } from "../../src/db/store.ts";
import { coalescedRateCounters } from "../../src/security/rate-counters-coalesced.ts";
import { memoryRateCounters } from "../../src/security/rate-counters-memory.ts";
import { postgresRateCounters, sweepRateCounters } from "../../src/security/rate-counters-postgres.ts";
import { redisRateCounters } from "../../src/security/rate-counters-redis.ts";
import { selectRateCounters, sweepEndedRateWindows } from "../../src/security/rate-counters.ts";
import type { RateCounters } from "../../src/security/rate-limit.ts";
import { randomString } from "../../src/security/tokens.ts";
import { createTestApp, freePort } from "../helpers.ts";
import { freshTestDatabase, onPostgres, type TestDatabase } from "../support/store.ts";
import { rateCountersContract } from "./rate-counters-contract.ts";

// The contract on each store: memory always; PostgreSQL when
// GATEHOUSE_TEST_DATABASE_URL names a server (a fresh migrated database of this
// file's own); Redis when GATEHOUSE_TEST_REDIS_URL names a server (.ci/run
// starts both).
const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;

const memory = memoryRateCounters();
rateCountersContract("memory", () => ({ client: () => memory }));

/** What a test opened, closed after the file. */
const opened: { close(): unknown }[] = [];

/** Two pools on this file's database, opened once: "two instances". */
let database: TestDatabase | null = null;
let pools: SQL[] = [];
let turn = 0;
const pool = (): SQL => pools[turn++ % 2]!;

beforeAll(async () => {
  if (!onPostgres) return;
  database = await freshTestDatabase();
  const url = database.env.GATEHOUSE_DATABASE_URL!;
  pools = [new SQL(url, { max: 5 }), new SQL(url, { max: 5 })];
});
afterAll(async () => {
  for (const c of [...opened, ...pools]) await c.close();
  await database?.drop();
});

rateCountersContract("PostgreSQL", () => ({ client: () => postgresRateCounters(pool()) }), onPostgres);

// The same contract through the coalescing every shared store is used with.
const coalescedMemory = coalescedRateCounters(memoryRateCounters());
rateCountersContract("memory, coalesced", () => ({ client: () => coalescedMemory }));
rateCountersContract(
  "PostgreSQL, coalesced",
  () => ({ client: () => coalescedRateCounters(postgresRateCounters(pool())) }),
  onPostgres,
);

describe("takes of one key in one turn, coalesced", () => {
  const window = { limit: 5, seconds: 60 };
  const t0 = 1_800_000_000;
  /** Memory counters that count the takes that reach them. */
  const counting = () => {
    const inner = memoryRateCounters();
    const spy = { takes: 0, counters: inner };
    spy.counters = {
      ...inner,
      take: (...args) => {
        spy.takes++;
        return inner.take(...args);
      },
    };
    return spy;
  };
  const takeAtOnce = (c: RateCounters, k: string, n: number, events = 1) =>
    Promise.all(Array.from({ length: n }, () => c.take(k, events, window, t0)));

  test("when their sum fits: one take reaches the store, each gets the count it would have had", async () => {
    const spy = counting();
    const c = coalescedRateCounters(spy.counters);
    const counted = await takeAtOnce(c, "k", 4);
    expect(counted).toEqual([1, 2, 3, 4].map((count) => ({ allowed: true, count, endsAt: t0 + 60 })));
    expect(spy.takes).toBe(1);
  });

  test("when it does not: the first ones fit, one by one, and the rest are refused as they would have been", async () => {
    const spy = counting();
    const c = coalescedRateCounters(spy.counters);
    const counted = await takeAtOnce(c, "k", 8);
    expect(counted.map((x) => [x.allowed, x.count])).toEqual([
      [true, 1],
      [true, 2],
      [true, 3],
      [true, 4],
      [true, 5],
      [false, 5],
      [false, 5],
      [false, 5],
    ]);
    // The sum, five that fit, the sixth refused; the seventh and eighth refused with it.
    expect(spy.takes).toBe(7);
    // Over the limit already: the sum and one take, however many came.
    spy.takes = 0;
    expect((await takeAtOnce(c, "k", 20)).every((x) => !x.allowed && x.count === 5)).toBe(true);
    expect(spy.takes).toBe(2);
  });

  test("a smaller take after a refused one is still made: a batch refused, a single request behind it fits", async () => {
    const c = coalescedRateCounters(memoryRateCounters());
    await c.take("k", 3, window, t0);
    const [batch, single] = await Promise.all([c.take("k", 3, window, t0), c.take("k", 1, window, t0)]);
    expect(batch).toMatchObject({ allowed: false, count: 3 });
    expect(single).toMatchObject({ allowed: true, count: 4 });
  });

  test("a store that fails fails every take waiting on it", async () => {
    const failing: RateCounters = {
      ...memoryRateCounters(),
      take: () => Promise.reject(new Error("store down")),
    };
    const c = coalescedRateCounters(failing);
    const results = await Promise.allSettled([c.take("k", 1, window, t0), c.take("k", 1, window, t0)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  test.if(onPostgres)(
    "on PostgreSQL, twelve at once under a limit of five: five allowed, the row counts five",
    async () => {
      const c = coalescedRateCounters(postgresRateCounters(pool()));
      const k = `coalesced:${randomString(10)}`;
      const counted = await Promise.all(Array.from({ length: 12 }, () => c.take(k, 1, window, t0)));
      expect(counted.filter((x) => x.allowed).map((x) => x.count)).toEqual([1, 2, 3, 4, 5]);
      const [row] = await pool()`SELECT count FROM rate_counters WHERE key = ${k}`;
      expect(row.count).toBe(5);
    },
  );
});

const redis = (): RateCounters => {
  const counters = redisRateCounters(redisUrl!);
  opened.push(counters);
  return counters;
};
rateCountersContract("Redis", () => ({ client: redis }), redisUrl !== undefined);

// A Redis of this test's own, stopped and started again: Bun's client gives up
// for good after its reconnection attempts, so the store must open a new one.
describe.if(Bun.which("redis-server") !== null)("Redis lost, then back", () => {
  test("while it is down takes fail, never allowed; once it is back they count again", async () => {
    const port = freePort();
    const start = async () => {
      const server = Bun.spawn(["redis-server", "--bind", "127.0.0.1", "--port", String(port), "--save", ""], {
        stdout: "pipe",
      });
      // Ready when it says so on stdout.
      const reader = server.stdout.getReader();
      for (let seen = ""; !seen.includes("Ready to accept connections"); ) {
        const { value, done } = await reader.read();
        if (done) throw new Error("redis-server exited");
        seen += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      return server;
    };
    let server = await start();
    const counters = redisRateCounters(`redis://127.0.0.1:${port}`);
    opened.push(counters);
    const window = { limit: 5, seconds: 60 };
    try {
      expect(await counters.take("k", 1, window, 1000)).toMatchObject({ allowed: true, count: 1 });
      server.kill();
      await server.exited;
      await expect(Promise.resolve(counters.take("k", 1, window, 1000))).rejects.toThrow();
      await expect(Promise.resolve(counters.take("k", 1, window, 1000))).rejects.toThrow();
      server = await start();
      expect(await counters.take("k", 1, window, 1000)).toMatchObject({ allowed: true, count: 1 });
    } finally {
      server.kill();
    }
  });
});

describe("which store counts", () => {
  test.skipIf(onPostgres)("on SQLite without GATEHOUSE_REDIS_URL: memory, answering at once", async () => {
    const app = await createTestApp({ listen: false });
    opened.push(app);
    const postgres = postgresClientOf(app.db);
    expect(postgres).toBeNull();
    const counters = selectRateCounters({ redisUrl: null }, postgres);
    expect(counters.take("k", 1, { limit: 1, seconds: 60 }, 1000)).toEqual({ allowed: true, count: 1, endsAt: 1060 });
    expect(await sweepEndedRateWindows(postgres, 1060)).toBe(0);
  });

  test.if(redisUrl !== undefined)("GATEHOUSE_REDIS_URL: Redis, whatever the database", async () => {
    const counters = selectRateCounters(loadConfig({ GATEHOUSE_REDIS_URL: redisUrl }), onPostgres ? pool() : null);
    opened.push(counters);
    const k = `select:${randomString(10)}`;
    expect(await counters.take(k, 2, { limit: 5, seconds: 60 }, 1000)).toMatchObject({ allowed: true, count: 2 });
    const direct = new RedisClient(redisUrl);
    opened.push(direct);
    expect(await direct.hget(`gatehouse:rate:${k}`, "count")).toBe("2");
  });

  test.if(onPostgres)("PostgreSQL without GATEHOUSE_REDIS_URL: its rate_counters table", async () => {
    const counters = selectRateCounters({ redisUrl: null }, pool());
    const k = `select:${randomString(10)}`;
    expect(await counters.take(k, 2, { limit: 5, seconds: 60 }, 1000)).toMatchObject({ allowed: true, count: 2 });
    const [row] = await pool()`SELECT count FROM rate_counters WHERE key = ${k}`;
    expect(row.count).toBe(2);
  });
});

describe.if(onPostgres)("the purge's sweep of PostgreSQL rows", () => {
  test("deletes the rows of ended windows and keeps the others", async () => {
    const sql = pool();
    const counters = postgresRateCounters(sql);
    const [ended, live] = [`sweep:${randomString(10)}`, `sweep:${randomString(10)}`];
    await counters.take(ended, 1, { limit: 5, seconds: 60 }, 1000);
    await counters.take(live, 1, { limit: 5, seconds: 600 }, 1000);
    expect(await sweepEndedRateWindows(sql, 1060)).toBeGreaterThanOrEqual(1);
    const keys = await sql`SELECT key FROM rate_counters WHERE key IN (${ended}, ${live})`;
    expect(keys.map((r: { key: string }) => r.key)).toEqual([live]);
    expect(await sweepRateCounters(sql, 1060)).toBe(0);
  });
});
