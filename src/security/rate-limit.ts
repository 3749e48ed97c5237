// A fixed-window counter per key, in memory. Used to throttle failed
// sign-ins now and, later, requests per token. State lives in the instance
// the app is given, never at module level.

export interface RateLimiter {
  /** Seconds until `key` may try again, or 0 if it is under the limit. */
  retryAfter(key: string): number;
  /** Counts one event for `key`. */
  hit(key: string): void;
  reset(key: string): void;
}

export function createRateLimiter(opts: { limit: number; windowSeconds: number; now: () => number }): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  const current = (key: string) => {
    const w = windows.get(key);
    if (w && opts.now() - w.start < opts.windowSeconds) return w;
    windows.delete(key);
    return null;
  };
  const sweep = () => {
    if (windows.size < 10_000) return;
    for (const key of windows.keys()) current(key);
  };
  return {
    retryAfter(key) {
      const w = current(key);
      return w && w.count >= opts.limit ? w.start + opts.windowSeconds - opts.now() : 0;
    },
    hit(key) {
      const w = current(key);
      if (w) w.count++;
      else {
        sweep();
        windows.set(key, { start: opts.now(), count: 1 });
      }
    },
    reset(key) {
      windows.delete(key);
    },
  };
}
