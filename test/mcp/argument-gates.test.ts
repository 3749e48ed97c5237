import { describe, expect, test } from "bun:test";
import {
  argumentRefusal,
  inheritLimits,
  limitLines,
  limitsWithin,
  parseLimitLines,
  type ArgumentLimits,
} from "../../src/mcp/argument-gates.ts";

// The pure rules of argument limits: matching, the `tool:argument=glob` lines,
// and how a child credential stays within its parent key.

const credential = (limits: ArgumentLimits) => [{ kind: "credential" as const, limits }];
const issue = "github__create_issue";

describe("matching a call", () => {
  const limits = credential({ [issue]: { repo: ["acme/*", "labs/widgets"] } });

  test("a value matching one glob, or equal to a plain value, is allowed", () => {
    expect(argumentRefusal(limits, issue, { repo: "acme/widgets", title: "x" })).toBeNull();
    expect(argumentRefusal(limits, issue, { repo: "labs/widgets" })).toBeNull();
  });

  test("`*` stops at `/`, matching is case-sensitive and values are not normalised", () => {
    for (const repo of ["acme/a/b", "ACME/widgets", "./acme/widgets", "labs/widgets2"]) {
      expect(argumentRefusal(limits, issue, { repo })).toEqual({
        argument: "repo",
        allowed: ["acme/*", "labs/widgets"],
        source: "credential",
      });
    }
  });

  test("a missing, non-string or nested argument is refused", () => {
    for (const args of [
      {},
      undefined,
      null,
      [],
      { repo: 1 },
      { repo: null },
      { repo: { name: "acme/x" } },
      { options: { repo: "acme/x" } },
    ]) {
      expect(argumentRefusal(limits, issue, args)?.argument).toBe("repo");
    }
  });

  test("an inherited property name is not an argument", () => {
    expect(argumentRefusal(credential({ t: { toString: ["*"] } }), "t", {})?.argument).toBe("toString");
  });

  test("tools without limits, and other tools, are not touched", () => {
    expect(argumentRefusal(limits, "github__get_issue", {})).toBeNull();
  });

  test("every argument limited on a tool must match, and every source must allow", () => {
    const two = credential({ t: { a: ["x"], b: ["y"] } });
    expect(argumentRefusal(two, "t", { a: "x", b: "z" })?.argument).toBe("b");
    const both = [
      { kind: "credential" as const, limits: { t: { a: ["x*"] } } },
      { kind: "policy" as const, limits: { t: { a: ["*y"] } } },
    ];
    expect(argumentRefusal(both, "t", { a: "xy" })).toBeNull();
    expect(argumentRefusal(both, "t", { a: "xz" })?.source).toBe("policy");
  });
});

describe("tool:argument=glob lines", () => {
  test("are read into a map, patterns kept once, blank lines skipped", () => {
    const parsed = parseLimitLines([
      `${issue}:repo=acme/*`,
      "",
      ` ${issue} : repo = labs/x `,
      `${issue}:repo=acme/*`,
      "web__store:text=a=b:c",
    ]);
    expect(parsed).toEqual({
      ok: true,
      limits: { [issue]: { repo: ["acme/*", "labs/x"] }, web__store: { text: ["a=b:c"] } },
    });
  });

  test("and written back the same way", () => {
    expect(limitLines({ [issue]: { repo: ["acme/*", "labs/x"] } })).toEqual([
      `${issue}:repo=acme/*`,
      `${issue}:repo=labs/x`,
    ]);
  });

  test("a malformed line is refused with its number", () => {
    expect(parseLimitLines(["a:b=c", "nocolon"])).toEqual({
      ok: false,
      error: 'Line 2 ("nocolon") must be tool:argument=pattern, such as github__create_issue:repo=acme/*.',
    });
    expect(parseLimitLines(["t:=x"]).ok).toBe(false);
    expect(parseLimitLines(["t:a="]).ok).toBe(false);
    expect(parseLimitLines(["bad tool:a=x"])).toEqual({
      ok: false,
      error: '"bad tool:a=x": "bad tool" is not a tool name.',
    });
  });
});

describe("a child within its parent", () => {
  const parent = { [issue]: { repo: ["acme/*"] } };

  test("no parent limits: anything", () => {
    expect(limitsWithin(null, null, null)).toBe(true);
  });

  test("the same globs, or plain values they match, are within", () => {
    expect(limitsWithin({ [issue]: { repo: ["acme/*"] } }, parent, null)).toBe(true);
    expect(limitsWithin({ [issue]: { repo: ["acme/widgets"] } }, parent, null)).toBe(true);
  });

  test("dropping a limit, or a glob not among the parent's, is not", () => {
    expect(limitsWithin(null, parent, null)).toBe(false);
    expect(limitsWithin({ [issue]: { repo: ["acme/w*"] } }, parent, null)).toBe(false);
    expect(limitsWithin({ [issue]: { repo: ["other/x"] } }, parent, null)).toBe(false);
  });

  test("a child that cannot call the tool needs no limit on it", () => {
    expect(limitsWithin(null, parent, ["web__store"])).toBe(true);
  });

  test("inheriting adds the parent's limits the child does not restate, for tools it may call", () => {
    expect(inheritLimits({ web__store: { text: ["a"] } }, parent, null)).toEqual({
      web__store: { text: ["a"] },
      [issue]: { repo: ["acme/*"] },
    });
    expect(inheritLimits({}, parent, ["web__store"])).toEqual({});
    expect(limitsWithin(inheritLimits({}, parent, null), parent, null)).toBe(true);
  });
});
