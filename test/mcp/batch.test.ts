import { describe, expect, test } from "bun:test";
import { countMessages } from "../../src/mcp/batch.ts";

const message = { jsonrpc: "2.0", id: 1, method: "tools/list" };

describe("countMessages", () => {
  test("one message counts 1 under any revision", () => {
    expect(countMessages(message, "2025-06-18")).toEqual({ ok: true, messages: 1 });
    expect(countMessages(message, null)).toEqual({ ok: true, messages: 1 });
  });

  test("a 2025-03-26 batch counts each message; without the header 2025-03-26 is assumed", () => {
    expect(countMessages([message, message, message], "2025-03-26")).toEqual({ ok: true, messages: 3 });
    expect(countMessages([message, message], null)).toEqual({ ok: true, messages: 2 });
  });

  test("an empty batch still counts as the one request it is", () => {
    expect(countMessages([], null)).toEqual({ ok: true, messages: 1 });
  });

  test.each(["2024-11-05", "2025-06-18", "2025-11-25", "2026-07-28"])(
    "a batch under %s is refused, naming the revision",
    (version) => {
      expect(countMessages([message], version)).toEqual({ ok: false, message: expect.stringContaining(version) });
    },
  );
});
