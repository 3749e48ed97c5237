import { describe, expect, test } from "bun:test";
import { messageWithRequestId, requestIdMetaKey } from "../../src/mcp/request-id.ts";

// Where an outgoing JSON-RPC message gets the request id (request-id.ts).

const id = "req-1";
/** The message as a client reads it: any JSON object. */
const stamp = (message: Record<string, unknown>) => messageWithRequestId(message, id) as Record<string, any>;

describe("messageWithRequestId", () => {
  test("an error without data gets data {request_id}", () => {
    expect(stamp({ jsonrpc: "2.0", id: 1, error: { code: -32601, message: "Method not found" } })).toEqual({
      jsonrpc: "2.0",
      id: 1,
      error: { code: -32601, message: "Method not found", data: { request_id: id } },
    });
  });

  test("an error's object data keeps its members beside request_id", () => {
    const message = {
      jsonrpc: "2.0",
      id: 1,
      error: { code: -32602, message: "x", data: { supported: ["2026-07-28"], requested: "1999" } },
    };
    expect(stamp(message).error.data).toEqual({ supported: ["2026-07-28"], requested: "1999", request_id: id });
  });

  test("data that is not an object is kept whole as detail", () => {
    expect(
      stamp({ jsonrpc: "2.0", id: 1, error: { code: -32000, message: "x", data: "upstream said no" } }).error.data,
    ).toEqual({ detail: "upstream said no", request_id: id });
  });

  test("the data object sent is not changed in place (a thrown error may be reused)", () => {
    const data = { uri: "a://b", reason: "gone" };
    stamp({ jsonrpc: "2.0", id: 1, error: { code: -32002, message: "x", data } });
    expect(data).toEqual({ uri: "a://b", reason: "gone" });
  });

  test("a 2025 resource-not-found (-32602 with data exactly {uri}) is left as it is", () => {
    const message = { jsonrpc: "2.0", id: 1, error: { code: -32602, message: "x", data: { uri: "a://b" } } };
    expect(stamp(message)).toBe(message);
  });

  test("a failed tool result gets _meta beside the upstream's own", () => {
    const message = {
      jsonrpc: "2.0",
      id: 1,
      result: { isError: true, content: [], _meta: { "com.example/trace": "t" } },
    };
    expect(stamp(message).result._meta).toEqual({ "com.example/trace": "t", [requestIdMetaKey]: id });
  });

  test("a successful result and a notification are returned as they are", () => {
    const ok = { jsonrpc: "2.0", id: 1, result: { content: [] } };
    const note = { jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } };
    expect([stamp(ok), stamp(note)]).toEqual([ok, note]);
    expect(stamp(ok)).toBe(ok);
  });

  test("the _meta key follows MCP's rule: a label prefix, a slash, an alphanumeric-bounded name", () => {
    expect(requestIdMetaKey).toMatch(
      /^([a-zA-Z]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z]([a-zA-Z0-9-]*[a-zA-Z0-9])?\/[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$/,
    );
  });
});
