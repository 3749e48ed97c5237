import { describe, expect, test } from "bun:test";
import { annotationsFor, classifyTool } from "../../src/gateway/classify.ts";

const none = { read: [], write: [], hide: [] };

describe("classifyTool", () => {
  test("readOnlyHint: true is a read tool", () =>
    expect(classifyTool("get", { readOnlyHint: true }, none)).toBe("read"));
  test("no annotations is a write tool", () => expect(classifyTool("get", undefined, none)).toBe("write"));
  test("readOnlyHint: false is a write tool", () =>
    expect(classifyTool("get", { readOnlyHint: false }, none)).toBe("write"));
  test("a read glob makes an unannotated tool a read tool", () =>
    expect(classifyTool("get_page", undefined, { ...none, read: ["get_*"] })).toBe("read"));
  test("a write glob overrides readOnlyHint: true", () =>
    expect(classifyTool("sync", { readOnlyHint: true }, { ...none, write: ["sync"] })).toBe("write"));
  test("write beats read when both match", () =>
    expect(classifyTool("x", undefined, { ...none, read: ["*"], write: ["x"] })).toBe("write"));
  test("hide beats everything", () =>
    expect(classifyTool("x", { readOnlyHint: true }, { read: ["x"], write: [], hide: ["x*"] })).toBe("hidden"));
});

describe("annotationsFor", () => {
  test("unchanged when they agree", () => {
    const a = { readOnlyHint: true, openWorldHint: false };
    expect(annotationsFor(a, "read")).toBe(a);
  });
  test("a write tool without a hint stays without one (absent means not read-only)", () =>
    expect(annotationsFor(undefined, "write")).toEqual({}));
  test("corrected to true for a tool the config calls read", () =>
    expect(annotationsFor({ title: "T" }, "read")).toEqual({ title: "T", readOnlyHint: true }));
  test("corrected to false for a tool the config calls write", () =>
    expect(annotationsFor({ readOnlyHint: true }, "write")).toEqual({ readOnlyHint: false }));
});
