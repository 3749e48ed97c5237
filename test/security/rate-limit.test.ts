import { describe, expect, test } from "bun:test";
import { createRateLimiter } from "../../src/security/rate-limit.ts";

function limiterAt(limit: number) {
  const clock = { now: 1000 };
  return { clock, limiter: createRateLimiter({ limit, windowSeconds: 60, now: () => clock.now }) };
}

describe("take", () => {
  test("counts events and reports what is left and when the window ends", () => {
    const { clock, limiter } = limiterAt(3);
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 2, resetSeconds: 60 });
    clock.now += 20;
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 1, resetSeconds: 40 });
  });

  test("refuses past the limit without counting the refusal", () => {
    const { limiter } = limiterAt(1);
    limiter.take("a");
    expect(limiter.take("a").allowed).toBe(false);
    expect(limiter.retryAfter("a")).toBe(60);
  });

  test("a new window starts with the full quota", () => {
    const { clock, limiter } = limiterAt(1);
    limiter.take("a");
    clock.now += 60;
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
  });

  test("several events at once are counted all or none; a refusal reports what is left", () => {
    const { limiter } = limiterAt(5);
    expect(limiter.take("a", 3)).toEqual({ allowed: true, remaining: 2, resetSeconds: 60 });
    expect(limiter.take("a", 3)).toEqual({ allowed: false, remaining: 2, resetSeconds: 60 });
    expect(limiter.take("a", 2)).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
  });

  test("keys are counted apart", () => {
    const { limiter } = limiterAt(1);
    limiter.take("a");
    expect(limiter.take("b").allowed).toBe(true);
  });
});

describe("retryAfter and hit", () => {
  test("hit counts toward retryAfter as before", () => {
    const { clock, limiter } = limiterAt(2);
    limiter.hit("a");
    expect(limiter.retryAfter("a")).toBe(0);
    limiter.hit("a");
    clock.now += 15;
    expect(limiter.retryAfter("a")).toBe(45);
  });
});

describe("release", () => {
  test("gives back what was taken in the current window, never below zero", () => {
    const { limiter } = limiterAt(2);
    limiter.take("a");
    limiter.take("a");
    expect(limiter.take("a").allowed).toBe(false);
    limiter.release("a");
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
    limiter.release("a", 5);
    expect(limiter.take("a", 2).allowed).toBe(true);
  });

  test("does nothing once the window has ended, or for a key never taken", () => {
    const { clock, limiter } = limiterAt(1);
    limiter.take("a");
    clock.now += 60;
    limiter.release("a");
    limiter.release("b");
    expect(limiter.take("a")).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
    expect(limiter.take("b")).toEqual({ allowed: true, remaining: 0, resetSeconds: 60 });
  });
});
