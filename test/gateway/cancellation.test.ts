import { describe, expect, test } from "bun:test";
import { InFlightCalls } from "../../src/gateway/cancellation.ts";
import { newCaller, type Caller } from "../../src/mcp/caller.ts";

// Which in-flight call a 2025 client's notifications/cancelled aborts.

const callerWithKey = (id: string): Caller =>
  newCaller({
    userId: "u1",
    email: "a@example.com",
    via: { kind: "api_key", id, name: "Laptop" },
    scopes: ["mcp:read", "mcp:write"],
    tools: null,
    expiresAt: null,
  });

describe("InFlightCalls", () => {
  test("a cancellation aborts the call of that credential with that id", () => {
    const calls = new InFlightCalls();
    const call = calls.track(callerWithKey("k1"), 7);
    expect(calls.cancel(callerWithKey("k1"), 7, "user pressed stop")).toBe(true);
    expect(call.signal.aborted).toBe(true);
    expect(call.signal.reason).toBe("user pressed stop");
  });

  test("another credential's cancellation with the same id aborts nothing", () => {
    const calls = new InFlightCalls();
    const call = calls.track(callerWithKey("k1"), 7);
    expect(calls.cancel(callerWithKey("k2"), 7, undefined)).toBe(false);
    expect(call.signal.aborted).toBe(false);
  });

  test('the id 7 and the id "7" are different calls', () => {
    const calls = new InFlightCalls();
    const call = calls.track(callerWithKey("k1"), 7);
    expect(calls.cancel(callerWithKey("k1"), "7", undefined)).toBe(false);
    expect(call.signal.aborted).toBe(false);
  });

  test("two calls of one credential with one id are ambiguous: neither is aborted", () => {
    const calls = new InFlightCalls();
    const first = calls.track(callerWithKey("k1"), 1);
    const second = calls.track(callerWithKey("k1"), 1);
    expect(calls.cancel(callerWithKey("k1"), 1, undefined)).toBe(false);
    expect([first.signal.aborted, second.signal.aborted]).toEqual([false, false]);
    first.release();
    expect(calls.cancel(callerWithKey("k1"), 1, undefined)).toBe(true);
    expect(second.signal.aborted).toBe(true);
  });

  test("a released call can no longer be cancelled", () => {
    const calls = new InFlightCalls();
    calls.track(callerWithKey("k1"), 3).release();
    expect(calls.cancel(callerWithKey("k1"), 3, undefined)).toBe(false);
  });
});
