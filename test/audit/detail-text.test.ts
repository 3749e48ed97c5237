import { describe, expect, test } from "bun:test";
import { auditDetailText } from "../../src/audit/detail-text.ts";

describe("auditDetailText", () => {
  test("sums an object up in one line, its objects' fields one level down", () => {
    const { summary, pretty } = auditDetailText('{"error":"disk full","arguments":{"path":"/a","tags":[1,2]}}');
    expect(summary).toBe("error: disk full, arguments.path: /a, arguments.tags: [2 items]");
    expect(pretty).toBe(
      '{\n  "error": "disk full",\n  "arguments": {\n    "path": "/a",\n    "tags": [\n      1,\n      2\n    ]\n  }\n}',
    );
  });

  test("cuts a long summary at 80 characters, on one line", () => {
    const { summary } = auditDetailText(JSON.stringify({ error: `line one\nline two ${"x".repeat(200)}` }));
    expect(summary.length).toBe(80);
    expect(summary).toEndWith("…");
    expect(summary).not.toContain("\n");
  });

  test("an empty object or string is summed up as its JSON, never as nothing", () => {
    expect(auditDetailText("{}").summary).toBe("{}");
    expect(auditDetailText('""').summary).toBe('""');
  });

  test("text that is not JSON is shown as it is", () => {
    expect(auditDetailText("not json")).toEqual({ summary: "not json", pretty: "not json" });
  });
});
