import type { SQL } from "bun";
import type { RateCounters } from "./rate-limit.ts";

// The counts in PostgreSQL's UNLOGGED table rate_counters
// (drizzle-pg/0002_rate_counters.sql), shared by every instance on the
// database (issue 16). Bun's SQL client directly: the table is outside the
// Drizzle schema, which cannot declare UNLOGGED.
//
// A take is one INSERT … ON CONFLICT … DO UPDATE … RETURNING: the row's lock
// orders takes on a key across instances, and the roll-over, the check and
// the count are the one statement. In SET every expression reads the row as
// it was, so each CASE decides from the old count and window; `excluded` is
// the row a first take (or a fresh window) writes.
//
// Rows of keys that stop coming are deleted by the periodic purge
// (sweepRateCounters, from src/serve.ts), not by the statement: a take then
// touches its own row only, and the purge runs on one instance at a time.
// A key that keeps coming reuses its row, window after window.

interface CounterRow {
  count: number;
  ends_at: number | string;
  allowed: boolean;
}

export function postgresRateCounters(client: SQL): RateCounters {
  return {
    async take(key, events, window, now) {
      const [row] = await client<CounterRow[]>`
        INSERT INTO rate_counters AS c (key, count, ends_at, allowed)
        VALUES (
          ${key},
          CASE WHEN ${events}::int <= ${window.limit}::int THEN ${events}::int ELSE 0 END,
          ${now}::bigint + ${window.seconds}::bigint,
          ${events}::int <= ${window.limit}::int
        )
        ON CONFLICT (key) DO UPDATE SET
          count = CASE
            WHEN c.ends_at <= ${now}::bigint THEN excluded.count
            WHEN c.count + ${events}::int <= ${window.limit}::int THEN c.count + ${events}::int
            ELSE c.count
          END,
          ends_at = CASE WHEN c.ends_at <= ${now}::bigint THEN excluded.ends_at ELSE c.ends_at END,
          allowed = CASE
            WHEN c.ends_at <= ${now}::bigint THEN excluded.allowed
            ELSE c.count + ${events}::int <= ${window.limit}::int
          END
        RETURNING count, ends_at, allowed`;
      // bigint columns can come back as strings.
      return { allowed: row!.allowed, count: Number(row!.count), endsAt: Number(row!.ends_at) };
    },
    async release(key, events, now) {
      await client`
        UPDATE rate_counters SET count = GREATEST(0, count - ${events}::int)
        WHERE key = ${key} AND ends_at > ${now}::bigint`;
    },
    async reset(key) {
      await client`DELETE FROM rate_counters WHERE key = ${key}`;
    },
    close() {},
  };
}

/** Deletes the rows of windows ended by `now`; how many. */
export async function sweepRateCounters(client: SQL, now: number): Promise<number> {
  const result = await client`DELETE FROM rate_counters WHERE ends_at <= ${now}::bigint`;
  return result.affectedRows;
}
