// A fixed-window counter per key, in memory. Used to throttle failed
// sign-ins, registrations and requests per credential on /mcp. State lives
// in the instance the app is given, never at module level.

export interface RateLimiter {
  /** Seconds until `key` may try again, or 0 if it is under the limit. */
  retryAfter(key: string): number;
  /** Counts one event for `key`. */
  hit(key: string): void;
  /**
   * Counts `events` (default 1) for `key` if they all fit under the limit, in
   * one lookup: the hot-path form of retryAfter + hit. Events refused are not
   * counted, not even in part.
   */
  take(key: string, events?: number): Taken;
  /** Gives back `events` (default 1) taken for `key` in its current window: a reservation that was not used. */
  release(key: string, events?: number): void;
  reset(key: string): void;
}

export interface Taken {
  allowed: boolean;
  /** Events left in the current window: after these when allowed, as they were when refused. */
  remaining: number;
  /** Seconds until the current window ends (at least 1). */
  resetSeconds: number;
}

/** Sweeping expired windows starts at this many keys, and runs at most once a second. */
const sweepAtKeys = 10_000;

export function createRateLimiter(opts: { limit: number; windowSeconds: number; now: () => number }): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  let lastSweep = -Infinity;
  const current = (key: string, now: number) => {
    const w = windows.get(key);
    if (w && now - w.start < opts.windowSeconds) return w;
    if (w) windows.delete(key);
    return null;
  };
  // Bounds memory by the keys live in one window, without an O(n) pass on every new key.
  const sweep = (now: number) => {
    if (windows.size < sweepAtKeys || now === lastSweep) return;
    lastSweep = now;
    for (const key of windows.keys()) current(key, now);
  };
  const open = (key: string, now: number) => {
    sweep(now);
    const w = { start: now, count: 0 };
    windows.set(key, w);
    return w;
  };
  return {
    retryAfter(key) {
      const now = opts.now();
      const w = current(key, now);
      return w && w.count >= opts.limit ? w.start + opts.windowSeconds - now : 0;
    },
    hit(key) {
      const now = opts.now();
      (current(key, now) ?? open(key, now)).count++;
    },
    take(key, events = 1) {
      const now = opts.now();
      const w = current(key, now) ?? open(key, now);
      const resetSeconds = Math.max(1, w.start + opts.windowSeconds - now);
      if (w.count + events > opts.limit)
        return { allowed: false, remaining: Math.max(0, opts.limit - w.count), resetSeconds };
      w.count += events;
      return { allowed: true, remaining: opts.limit - w.count, resetSeconds };
    },
    release(key, events = 1) {
      const w = current(key, opts.now());
      if (w) w.count = Math.max(0, w.count - events);
    },
    reset(key) {
      windows.delete(key);
    },
  };
}
