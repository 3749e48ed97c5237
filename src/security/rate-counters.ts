import type { SQL } from "bun";
import type { Config } from "../config.ts";
import { coalescedRateCounters } from "./rate-counters-coalesced.ts";
import { memoryRateCounters } from "./rate-counters-memory.ts";
import { postgresRateCounters, sweepRateCounters } from "./rate-counters-postgres.ts";
import { redisRateCounters } from "./rate-counters-redis.ts";
import type { RateCounters } from "./rate-limit.ts";

// Where the app's rate limits and throttles count (issue 16): security
// throttles are never per instance when there can be more than one. Redis when
// GATEHOUSE_REDIS_URL names one (the faster shared store); else the database
// when it is PostgreSQL, which several instances share; else memory: SQLite
// is one process's file, so there is one instance. The shared stores' takes of
// one key in one turn of the event loop go as one (rate-counters-coalesced.ts).

/** `postgres`: the store's pool when it is PostgreSQL (postgresClientOf in src/db/store.ts), else null. */
export function selectRateCounters(config: Pick<Config, "redisUrl">, postgres: SQL | null): RateCounters {
  if (config.redisUrl !== null) return coalescedRateCounters(redisRateCounters(config.redisUrl));
  return postgres ? coalescedRateCounters(postgresRateCounters(postgres)) : memoryRateCounters();
}

/** The purge's part: deletes the PostgreSQL rows of windows ended by `now`; 0 on SQLite, which keeps none. */
export function sweepEndedRateWindows(postgres: SQL | null, now: number): Promise<number> {
  return postgres ? sweepRateCounters(postgres, now) : Promise.resolve(0);
}
