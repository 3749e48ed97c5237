import { describe, expect, test } from "bun:test";
import { followsToolNameRule, splitByToolName } from "../../src/gateway/tool-names.ts";

describe("MCP's tool-name rule", () => {
  test("allows 1 to 128 ASCII letters, digits, _ - and .", () => {
    expect(["a", "Get_User-2.v1", "x".repeat(128)].every(followsToolNameRule)).toBe(true);
  });

  test.each(["", "x".repeat(129), "two words", "dir/tool", "comma,name", `x"><img>`, "naïve", "tab\there"])(
    "refuses %p",
    (name) => {
      expect(followsToolNameRule(name)).toBe(false);
    },
  );

  test("an upstream's tools are split with the prefix counted, the refused ones named in order", () => {
    const tools = ["ok.name-1_X", "", "b".repeat(125), "a".repeat(123), "dir/tool"].map((name) => ({ name }));
    expect(splitByToolName(tools, "odd__")).toEqual({
      offered: [{ name: "ok.name-1_X" }, { name: "a".repeat(123) }],
      refused: ["", "b".repeat(125), "dir/tool"],
    });
  });
});
