import { andThen, type Maybe } from "../db/execute-now.ts";

// Fixed windows per key, over a counter store: the limit, the window and the
// key's prefix live here; where the counts live is the store's
// (rate-counters.ts picks one: memory on one process, else PostgreSQL or
// Redis, so every instance counts in one place, issue 16). Used to throttle
// failed sign-ins, wrong device codes, registrations and requests per
// credential on /mcp.
//
// A window opens at its key's first event and lasts `windowSeconds`. Each
// take is one step of the store, atomic across instances: a check followed by
// a separate count would let requests arriving together all pass the check.

/**
 * A shared counter store (PostgreSQL's table, Redis) that could not be asked:
 * the request is refused (503, src/http/unavailable.ts), never let through
 * uncounted, since a throttle that lets everything through is no throttle.
 */
export class RateCountersUnavailable extends Error {
  constructor(cause: unknown) {
    super("the rate limit counters could not be reached", { cause });
    this.name = "RateCountersUnavailable";
  }
}

/** A store's answer, its failure named. */
function named<T>(answer: Maybe<T>): Maybe<T> {
  if (!(answer instanceof Promise)) return answer;
  return answer.catch((error: unknown) => {
    throw new RateCountersUnavailable(error);
  });
}

export interface RateLimiter {
  /**
   * Counts `events` (default 1) for `key` if they all fit under the limit, in
   * one step of the store. Events refused are not counted, not even in part.
   */
  take(key: string, events?: number): Maybe<Taken>;
  /** Gives back `events` (default 1) taken for `key` in its current window: a reservation that was not used. */
  release(key: string, events?: number): Maybe<void>;
  /** Forgets `key`'s window. */
  reset(key: string): Maybe<void>;
}

export interface Taken {
  allowed: boolean;
  /** Events left in the current window: after these when allowed, as they were when refused. */
  remaining: number;
  /** Seconds until the current window ends (at least 1). */
  resetSeconds: number;
}

/** A limit: at most `limit` events in a window of `seconds`. */
export interface RateWindow {
  limit: number;
  seconds: number;
}

/**
 * Where the counts live (rate-counters-*.ts). One call a request, atomic: the
 * window's roll-over, the check and the count happen together. The memory
 * store answers at once, so /mcp stays on one turn of the event loop on
 * SQLite; shared stores answer with a promise.
 */
export interface RateCounters {
  /**
   * In the window of `key` holding `now` (a fresh one of `window.seconds` if
   * there is none or it has ended), counts `events` if count + events stays
   * within `window.limit`; otherwise counts nothing.
   */
  take(key: string, events: number, window: RateWindow, now: number): Maybe<Counted>;
  /** Lowers `key`'s count by `events` (never below 0) if its window has not ended at `now`. */
  release(key: string, events: number, now: number): Maybe<void>;
  reset(key: string): Maybe<void>;
  /** Lets go of connections the store opened itself (Redis); nothing for the others. */
  close(): void;
}

/** What a take found: whether it counted, the count after it, and when the window ends (unix seconds). */
export interface Counted {
  allowed: boolean;
  count: number;
  endsAt: number;
}

export function createRateLimiter(opts: {
  limit: number;
  windowSeconds: number;
  now: () => number;
  counters: RateCounters;
  /** Names the limiter in the store's keys, so limiters sharing a store never share a count. */
  prefix: string;
}): RateLimiter {
  const window: RateWindow = { limit: opts.limit, seconds: opts.windowSeconds };
  const { counters, prefix } = opts;
  return {
    take(key, events = 1) {
      const now = opts.now();
      return andThen(named(counters.take(`${prefix}:${key}`, events, window, now)), (counted) => ({
        allowed: counted.allowed,
        remaining: Math.max(0, window.limit - counted.count),
        resetSeconds: Math.max(1, counted.endsAt - now),
      }));
    },
    release(key, events = 1) {
      return named(counters.release(`${prefix}:${key}`, events, opts.now()));
    },
    reset(key) {
      return named(counters.reset(`${prefix}:${key}`));
    },
  };
}

/**
 * Takes one event from each limiter for its key, in order; if one refuses,
 * gives back those already taken. The seconds to wait, or 0 when all were
 * taken (and are to be released by the caller if the attempt succeeds).
 */
export async function reserveAll(holds: readonly (readonly [RateLimiter, string])[]): Promise<number> {
  for (const [i, [limiter, key]] of holds.entries()) {
    const taken = await limiter.take(key);
    if (taken.allowed) continue;
    for (const [earlier, earlierKey] of holds.slice(0, i)) await earlier.release(earlierKey);
    return taken.resetSeconds;
  }
  return 0;
}
