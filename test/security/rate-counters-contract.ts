// The rate counter store contract (issue 16): what memory, PostgreSQL and
// Redis must each do, one suite run against each by rate-counters.test.ts.
// The clock is passed in (`now`), never slept on. Every test counts under
// keys of its own, so runs sharing a database or a Redis never meet.
import { describe, expect, test } from "bun:test";
import { randomString } from "../../src/security/tokens.ts";
import type { Counted, RateCounters, RateWindow } from "../../src/security/rate-limit.ts";

/** A store under test: `client()` opens another client on the same store (another pool, another connection). */
export interface CountersUnderTest {
  client(): RateCounters;
}

const t0 = 1_800_000_000;
const window: RateWindow = { limit: 3, seconds: 60 };

export function rateCountersContract(name: string, open: () => CountersUnderTest, enabled = true) {
  describe.if(enabled)(`rate counters: ${name}`, () => {
    const key = () => `contract:${randomString(10)}`;
    /** `n` takes of one event each, in order. */
    const takeEach = async (c: RateCounters, k: string, n: number, now = t0): Promise<Counted[]> => {
      const out: Counted[] = [];
      for (let i = 0; i < n; i++) out.push(await c.take(k, 1, window, now));
      return out;
    };

    test("the limit's takes are allowed, counting up; the next is refused and reports the count", async () => {
      const c = open().client();
      const k = key();
      expect(await takeEach(c, k, 3)).toEqual([1, 2, 3].map((count) => ({ allowed: true, count, endsAt: t0 + 60 })));
      expect(await c.take(k, 1, window, t0 + 10)).toEqual({ allowed: false, count: 3, endsAt: t0 + 60 });
    });

    test("a refused take is not counted", async () => {
      const c = open().client();
      const k = key();
      expect(await c.take(k, 2, window, t0)).toMatchObject({ allowed: true, count: 2 });
      expect(await c.take(k, 2, window, t0)).toMatchObject({ allowed: false, count: 2 });
      expect(await c.take(k, 1, window, t0)).toMatchObject({ allowed: true, count: 3 });
    });

    test("a batch that does not fit is refused whole, on a fresh key too", async () => {
      const c = open().client();
      const k = key();
      expect(await c.take(k, 4, window, t0)).toEqual({ allowed: false, count: 0, endsAt: t0 + 60 });
      expect(await c.take(k, 3, window, t0)).toEqual({ allowed: true, count: 3, endsAt: t0 + 60 });
    });

    test("release gives back taken events, never below zero", async () => {
      const c = open().client();
      const k = key();
      await takeEach(c, k, 3);
      await c.release(k, 1, t0 + 5);
      expect(await c.take(k, 1, window, t0 + 5)).toMatchObject({ allowed: true, count: 3 });
      await c.release(k, 10, t0 + 5);
      expect(await c.take(k, 3, window, t0 + 5)).toMatchObject({ allowed: true, count: 3 });
    });

    test("release of a key never taken, or of an ended window, changes nothing", async () => {
      const c = open().client();
      const k = key();
      await c.release(k, 1, t0);
      expect(await c.take(k, 1, window, t0)).toMatchObject({ allowed: true, count: 1 });
      await c.release(k, 1, t0 + 60);
      expect(await c.take(k, 3, window, t0 + 60)).toEqual({ allowed: true, count: 3, endsAt: t0 + 120 });
    });

    test("reset forgets the key: a full quota and a new window", async () => {
      const c = open().client();
      const k = key();
      await takeEach(c, k, 3);
      await c.reset(k);
      expect(await c.take(k, 3, window, t0 + 20)).toEqual({ allowed: true, count: 3, endsAt: t0 + 80 });
    });

    test("a window rolls over at its end: the count starts again and a new end is set", async () => {
      const c = open().client();
      const k = key();
      await takeEach(c, k, 3);
      expect(await c.take(k, 1, window, t0 + 59)).toMatchObject({ allowed: false, count: 3 });
      expect(await c.take(k, 1, window, t0 + 60)).toEqual({ allowed: true, count: 1, endsAt: t0 + 120 });
      expect(await c.take(k, 3, window, t0 + 70)).toMatchObject({ allowed: false, count: 1, endsAt: t0 + 120 });
    });

    test("a window of another length for another key ends at its own time", async () => {
      const c = open().client();
      const k = key();
      expect(await c.take(k, 1, { limit: 1, seconds: 900 }, t0)).toEqual({ allowed: true, count: 1, endsAt: t0 + 900 });
      expect(await c.take(k, 1, { limit: 1, seconds: 900 }, t0 + 600)).toMatchObject({ allowed: false });
    });

    test("two clients of one store share one count", async () => {
      const store = open();
      const [a, b] = [store.client(), store.client()];
      const k = key();
      expect(await a.take(k, 2, window, t0)).toMatchObject({ allowed: true, count: 2 });
      expect(await b.take(k, 2, window, t0)).toMatchObject({ allowed: false, count: 2 });
      expect(await b.take(k, 1, window, t0)).toMatchObject({ allowed: true, count: 3 });
      expect(await a.take(k, 1, window, t0)).toMatchObject({ allowed: false, count: 3 });
      await b.release(k, 1, t0);
      expect(await a.take(k, 1, window, t0)).toMatchObject({ allowed: true, count: 3 });
      await a.reset(k);
      expect(await b.take(k, 1, window, t0)).toMatchObject({ allowed: true, count: 1 });
    });

    test("50 takes at once from two clients, limit 20: exactly 20 allowed, counted 1 to 20", async () => {
      const store = open();
      const [a, b] = [store.client(), store.client()];
      const k = key();
      const limit20 = { limit: 20, seconds: 60 };
      const all = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).take(k, 1, limit20, t0)));
      const allowed = all.filter((r) => r.allowed);
      expect(allowed).toHaveLength(20);
      expect(allowed.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await a.take(k, 1, limit20, t0)).toMatchObject({ allowed: false, count: 20 });
    });
  });
}
