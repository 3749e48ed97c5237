import type { Counted, RateCounters, RateWindow } from "./rate-limit.ts";

// A shared store's takes of one key that arrive in the same turn of the event
// loop, sent as one take of their sum (issue 16). Each take is a round trip
// that waits on its key's one row (PostgreSQL) or key (Redis), so a busy
// credential's requests would otherwise queue there one by one: with it, one
// statement a turn per key, however many requests the turn brought.
//
// The verdicts are those of the same takes made one by one in arrival order.
// If the sum fits, each take fits after those before it, so each gets the
// count it would have had. If not, they are made one by one until one is
// refused; a later take of at least as many events is refused with it (the
// order where nothing is given back between them), the others are made.

interface Waiting {
  events: number;
  resolve(counted: Counted): void;
  reject(error: unknown): void;
}

interface Group {
  key: string;
  window: RateWindow;
  now: number;
  waiting: Waiting[];
}

export function coalescedRateCounters(store: RateCounters): RateCounters {
  let groups = new Map<string, Group>();
  let scheduled = false;

  const settle = async ({ key, window, now, waiting }: Group) => {
    let done = 0;
    try {
      if (waiting.length > 1) {
        const total = waiting.reduce((sum, w) => sum + w.events, 0);
        const counted = await store.take(key, total, window, now);
        if (counted.allowed) {
          let count = counted.count - total;
          for (const w of waiting) {
            count += w.events;
            w.resolve({ allowed: true, count, endsAt: counted.endsAt });
          }
          return;
        }
      }
      let refused: { events: number; counted: Counted } | null = null;
      for (const w of waiting) {
        if (refused && w.events >= refused.events) w.resolve(refused.counted);
        else {
          const counted = await store.take(key, w.events, window, now);
          if (!counted.allowed) refused = { events: w.events, counted };
          w.resolve(counted);
        }
        done++;
      }
    } catch (error) {
      for (const w of waiting.slice(done)) w.reject(error);
    }
  };

  const flush = () => {
    scheduled = false;
    const due = groups;
    groups = new Map();
    for (const group of due.values()) void settle(group);
  };

  return {
    take(key, events, window, now) {
      const id = `${window.limit}:${window.seconds}:${key}`;
      let group = groups.get(id);
      if (group === undefined) {
        group = { key, window, now, waiting: [] };
        groups.set(id, group);
      }
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      const waiting = group.waiting;
      return new Promise<Counted>((resolve, reject) => waiting.push({ events, resolve, reject }));
    },
    release: (key, events, now) => store.release(key, events, now),
    reset: (key) => store.reset(key),
    close: () => store.close(),
  };
}
