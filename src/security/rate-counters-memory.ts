import type { RateCounters } from "./rate-limit.ts";

// The counts in a Map of this process: the store on SQLite, where there is
// one process. Answers at once (no promise), so /mcp stays on one turn of the
// event loop. State lives in the instance the app is given, never at module level.

/** Sweeping ended windows starts at this many keys, and runs at most once a second. */
const sweepAtKeys = 10_000;

export function memoryRateCounters(): RateCounters {
  const windows = new Map<string, { endsAt: number; count: number }>();
  let lastSweep = -Infinity;
  const current = (key: string, now: number) => {
    const w = windows.get(key);
    if (w && w.endsAt > now) return w;
    if (w) windows.delete(key);
    return null;
  };
  // Bounds memory by the keys live in one window, without an O(n) pass on every new key.
  const sweep = (now: number) => {
    if (windows.size < sweepAtKeys || now === lastSweep) return;
    lastSweep = now;
    for (const key of windows.keys()) current(key, now);
  };
  const open = (key: string, now: number, seconds: number) => {
    sweep(now);
    const w = { endsAt: now + seconds, count: 0 };
    windows.set(key, w);
    return w;
  };
  return {
    take(key, events, window, now) {
      const w = current(key, now) ?? open(key, now, window.seconds);
      if (w.count + events > window.limit) return { allowed: false, count: w.count, endsAt: w.endsAt };
      w.count += events;
      return { allowed: true, count: w.count, endsAt: w.endsAt };
    },
    release(key, events, now) {
      const w = current(key, now);
      if (w) w.count = Math.max(0, w.count - events);
    },
    reset(key) {
      windows.delete(key);
    },
    close() {},
  };
}
