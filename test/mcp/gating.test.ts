import { describe, expect, test } from "bun:test";
import { newCaller } from "../../src/mcp/caller.ts";
import { deniedToolCalls, isWriteTool, missingFor, visibleTools } from "../../src/mcp/gating.ts";
import {
  checkToolChoice,
  permittedWriteTools,
  unknownToolsMessage,
  writeToolChoices,
} from "../../src/mcp/tool-permissions.ts";

const read = { name: "t__read", requiredScopes: ["mcp:read"] };
const write = { name: "t__write", requiredScopes: ["mcp:read", "mcp:write"] };
const other = { name: "t__other", requiredScopes: ["mcp:read", "mcp:write"] };
const tools = new Map([read, write, other].map((t) => [t.name, t]));
const full = ["mcp:read", "mcp:write"];
const caller = (scopes: string[], granted: string[] | null = null) =>
  newCaller({
    userId: "u",
    email: "u@example.com",
    via: { kind: "api_key", id: "k", name: "k" },
    scopes,
    tools: granted,
    expiresAt: null,
  });
const call = (name: string, id = 1) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } });
const names = (list: { name: string }[]) => list.map((t) => t.name);

describe("gating by scope", () => {
  test("a read-only caller sees only read tools", () => {
    expect(names(visibleTools(caller(["mcp:read"]), [read, write]))).toEqual(["t__read"]);
  });

  test("a full caller with every write tool sees every tool", () => {
    expect(visibleTools(caller(full), [read, write, other])).toHaveLength(3);
  });

  test("a read-only caller calling a write tool misses a scope", () => {
    expect(deniedToolCalls(caller(["mcp:read"]), tools, call("t__write"))).toEqual([
      { index: 0, tool: write, missing: "scope" },
    ]);
  });

  test("a denied call hidden in a 2025-era batch is found at its place", () => {
    expect(deniedToolCalls(caller(["mcp:read"]), tools, [call("t__read"), call("t__write", 2)])).toEqual([
      { index: 1, tool: write, missing: "scope" },
    ]);
  });

  test("unknown tools, other methods and junk are left to the SDK", () => {
    const c = caller(["mcp:read"]);
    expect(deniedToolCalls(c, tools, call("nope"))).toEqual([]);
    expect(deniedToolCalls(c, tools, { jsonrpc: "2.0", id: 1, method: "tools/list" })).toEqual([]);
    expect(deniedToolCalls(c, tools, null)).toEqual([]);
    expect(deniedToolCalls(c, tools, "tools/call")).toEqual([]);
  });
});

describe("gating by per-tool grant", () => {
  test("a write tool is one that needs mcp:write", () => {
    expect([isWriteTool(read), isWriteTool(write)]).toEqual([false, true]);
  });

  test("a full caller granted one write tool sees the read tools and that one", () => {
    expect(names(visibleTools(caller(full, ["t__write"]), [read, write, other]))).toEqual(["t__read", "t__write"]);
  });

  test("a write tool outside the grant misses the grant, not a scope", () => {
    expect(missingFor(caller(full, ["t__write"]), other)).toBe("permission");
    expect(missingFor(caller(full, ["t__write"]), write)).toBeNull();
  });

  test("an empty grant still allows every read tool", () => {
    expect(missingFor(caller(full, []), read)).toBeNull();
    expect(missingFor(caller(full, []), write)).toBe("permission");
  });

  test("a grant never widens the scope: a read-only caller naming a write tool still misses the scope", () => {
    expect(missingFor(caller(["mcp:read"], ["t__write"]), write)).toBe("scope");
  });

  test("every denied call of a batch is reported, in order", () => {
    const denied = deniedToolCalls(caller(full, []), tools, [
      call("t__write", 1),
      call("t__read", 2),
      call("t__other", 3),
    ]);
    expect(denied.map((d) => [d.index, d.tool.name, d.missing])).toEqual([
      [0, "t__write", "permission"],
      [2, "t__other", "permission"],
    ]);
  });
});

describe("choosing write tools", () => {
  const catalogue = [
    { ...read, description: "Reads." },
    { ...write, title: "Write it", description: "Writes." },
    { ...other, description: "Other." },
  ];

  test("only write tools are offered, in catalogue order", () => {
    expect(names(writeToolChoices(catalogue))).toEqual(["t__write", "t__other"]);
  });

  test("a valid choice comes back once each, in the order offered", () => {
    expect(checkToolChoice(["t__other", "t__write", "t__other"], ["t__write", "t__other"])).toEqual({
      ok: true,
      tools: ["t__write", "t__other"],
    });
  });

  test("unknown names are refused, never dropped, read tools included", () => {
    expect(checkToolChoice(["t__write", "nope", "t__read"], ["t__write", "t__other"])).toEqual({
      ok: false,
      unknown: ["nope", "t__read"],
    });
  });

  test("the refusal names a few names, each cut short", () => {
    const message = unknownToolsMessage(["a", "b".repeat(200), "c", "d", "e", "f", "g"]);
    expect(message).toBe(`Gatehouse has no write tool named a, ${"b".repeat(79)}…, c, d, e and 2 more.`);
  });

  test("whoami's write_tools: all, the names, or none for Read-only", () => {
    expect([
      permittedWriteTools("full", null),
      permittedWriteTools("full", ["x"]),
      permittedWriteTools("read", null),
    ]).toEqual(["all", ["x"], []]);
  });
});
