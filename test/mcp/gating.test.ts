import { describe, expect, test } from "bun:test";
import { newCaller } from "../../src/mcp/caller.ts";
import { deniedToolCall, visibleTools } from "../../src/mcp/gating.ts";

const read = { name: "t__read", requiredScopes: ["mcp:read"] };
const write = { name: "t__write", requiredScopes: ["mcp:read", "mcp:write"] };
const tools = new Map([read, write].map((t) => [t.name, t]));
const caller = (scopes: string[]) =>
  newCaller({ userId: "u", email: "u@example.com", via: { kind: "api_key", id: "k", name: "k" }, scopes, expiresAt: null });
const call = (name: string, id = 1) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } });

describe("gating", () => {
  test("a read-only caller sees only read tools", () => {
    expect(visibleTools(caller(["mcp:read"]), [read, write]).map((t) => t.name)).toEqual(["t__read"]);
  });

  test("a full caller sees every tool", () => {
    expect(visibleTools(caller(["mcp:read", "mcp:write"]), [read, write])).toHaveLength(2);
  });

  test("a read-only caller calling a write tool is denied", () => {
    expect(deniedToolCall(caller(["mcp:read"]), tools, call("t__write"))?.name).toBe("t__write");
  });

  test("a denied call hidden in a 2025-era batch is found", () => {
    expect(deniedToolCall(caller(["mcp:read"]), tools, [call("t__read"), call("t__write", 2)])?.name).toBe("t__write");
  });

  test("unknown tools, other methods and junk are left to the SDK", () => {
    const c = caller(["mcp:read"]);
    expect(deniedToolCall(c, tools, call("nope"))).toBeNull();
    expect(deniedToolCall(c, tools, { jsonrpc: "2.0", id: 1, method: "tools/list" })).toBeNull();
    expect(deniedToolCall(c, tools, null)).toBeNull();
    expect(deniedToolCall(c, tools, "tools/call")).toBeNull();
  });
});
