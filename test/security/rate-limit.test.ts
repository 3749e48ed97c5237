import { describe, expect, test } from "bun:test";
import { memoryRateCounters } from "../../src/security/rate-counters-memory.ts";
import { createRateLimiter, type RateCounters, reserveAll } from "../../src/security/rate-limit.ts";

// The window logic over the memory store (the store on SQLite). What every
// store must do is test/security/rate-counters-contract.ts's.

function limiterAt(limit: number, counters: RateCounters = memoryRateCounters(), prefix = "test") {
  const clock = { now: 1000 };
  return { clock, limiter: createRateLimiter({ limit, windowSeconds: 60, now: () => clock.now, counters, prefix }) };
}

describe("take", () => {
  test("counts events and reports what is left and when the window ends", () => {
    const { clock, limiter } = limiterAt(3);
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 2, resetSeconds: 60 });
    clock.now += 20;
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 1, resetSeconds: 40 });
  });

  test("refuses past the limit without counting the refusal", async () => {
    const { limiter } = limiterAt(1);
    await limiter.take("a");
    expect(limiter.take("a")).toEqual({ allowed: false, remaining: 0, resetSeconds: 60 });
    expect(limiter.take("a")).toEqual({ allowed: false, remaining: 0, resetSeconds: 60 });
  });

  test("a new window starts with the full quota", async () => {
    const { clock, limiter } = limiterAt(1);
    await limiter.take("a");
    clock.now += 60;
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
  });

  test("several events at once are counted all or none; a refusal reports what is left", () => {
    const { limiter } = limiterAt(5);
    expect(limiter.take("a", 3)).toEqual({ allowed: true, remaining: 2, resetSeconds: 60 });
    expect(limiter.take("a", 3)).toEqual({ allowed: false, remaining: 2, resetSeconds: 60 });
    expect(limiter.take("a", 2)).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
  });

  test("keys are counted apart", async () => {
    const { limiter } = limiterAt(1);
    await limiter.take("a");
    expect(limiter.take("b")).toMatchObject({ allowed: true });
  });

  test("in memory the answer is a value, not a promise: /mcp on SQLite awaits nothing for it", () => {
    const { limiter } = limiterAt(1);
    expect(limiter.take("a")).not.toBeInstanceOf(Promise);
    expect(limiter.take("a")).not.toBeInstanceOf(Promise);
  });

  test("limiters sharing a store count apart under their own prefixes", () => {
    const counters = memoryRateCounters();
    const signIn = limiterAt(1, counters, "sign-in").limiter;
    const registration = limiterAt(1, counters, "registration").limiter;
    expect(signIn.take("192.0.2.1")).toMatchObject({ allowed: true });
    expect(registration.take("192.0.2.1")).toMatchObject({ allowed: true });
    expect(signIn.take("192.0.2.1")).toMatchObject({ allowed: false });
  });
});

describe("reset", () => {
  test("forgets the key's window", async () => {
    const { clock, limiter } = limiterAt(1);
    await limiter.take("a");
    clock.now += 30;
    await limiter.reset("a");
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
  });
});

describe("reserveAll", () => {
  test("takes one from each; when one refuses, gives back those taken and answers its wait", async () => {
    const counters = memoryRateCounters();
    const { clock, limiter: perAddress } = limiterAt(5, counters, "address");
    const perAccount = createRateLimiter({
      limit: 1,
      windowSeconds: 900,
      now: () => clock.now,
      counters,
      prefix: "account",
    });
    expect(
      await reserveAll([
        [perAddress, "192.0.2.1"],
        [perAccount, "ann"],
      ]),
    ).toBe(0);
    clock.now += 30;
    expect(
      await reserveAll([
        [perAddress, "192.0.2.1"],
        [perAccount, "ann"],
      ]),
    ).toBe(870);
    // The address gave back the second reservation: 1 of its 5 is used.
    expect(perAddress.take("192.0.2.1", 4)).toMatchObject({ allowed: true, remaining: 0 });
  });
});

describe("release", () => {
  test("gives back what was taken in the current window, never below zero", async () => {
    const { limiter } = limiterAt(2);
    await limiter.take("a");
    await limiter.take("a");
    expect(limiter.take("a")).toMatchObject({ allowed: false });
    await limiter.release("a");
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
    await limiter.release("a", 5);
    expect(limiter.take("a", 2)).toMatchObject({ allowed: true });
  });

  test("does nothing once the window has ended, or for a key never taken", async () => {
    const { clock, limiter } = limiterAt(1);
    await limiter.take("a");
    clock.now += 60;
    await limiter.release("a");
    await limiter.release("b");
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
    expect(limiter.take("b")).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
  });
});
