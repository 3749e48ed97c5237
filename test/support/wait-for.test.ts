import { describe, expect, test } from "bun:test";
import { waitFor } from "./wait-for.ts";

describe("waitFor", () => {
  test("returns once the check holds", async () => {
    let calls = 0;
    await waitFor(() => ++calls === 3);
    expect(calls).toBe(3);
  });

  test("awaits an async check", async () => {
    let calls = 0;
    await waitFor(async () => ++calls === 2);
    expect(calls).toBe(2);
  });

  test("a check that never holds fails after the timeout, saying what it waited for", async () => {
    await expect(
      waitFor(
        () => false,
        50,
        () => "the upstream to connect",
      ),
    ).rejects.toThrow("timed out after 50 ms waiting for the upstream to connect");
  });
});
