import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../helpers.ts";
import { mcpUrl, userWithKey } from "./fixture.ts";

// Bodies /mcp refuses, each with the SDK's own JSON-RPC answer, whoever reads
// the body first. Every one is a counted request (RateLimit on the answer).
let app: TestApp;
let token: string;
beforeAll(async () => {
  app = await createTestApp();
  token = (await userWithKey(app)).token;
});
afterAll(() => app.close());

const maxBytes = 4 * 1024 * 1024;

function post(body: BodyInit, headers: Record<string, string> = {}) {
  return fetch(mcpUrl(app), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${token}`,
      ...headers,
    },
    body,
  });
}

/** Status, JSON-RPC error code and message, id, and whether the answer was counted. */
async function answer(res: Response) {
  const body = (await res.json()) as { id: unknown; error: { code: number; message: string } };
  return {
    status: res.status,
    code: body.error.code,
    message: body.error.message,
    id: body.id,
    counted: res.headers.get("ratelimit") !== null,
  };
}

/** A body of `bytes` bytes sent as a stream, so no Content-Length announces its size. */
function streamOf(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

describe("bodies the SDK refuses", () => {
  test("a Content-Type other than application/json is 415", async () => {
    expect(await answer(await post("{}", { "content-type": "text/plain" }))).toEqual({
      status: 415,
      code: -32000,
      message: "Unsupported Media Type: Content-Type must be application/json",
      id: null,
      counted: true,
    });
  });

  test("a body that is not JSON is 400 Parse error (-32700)", async () => {
    expect(await answer(await post("{not json"))).toEqual({
      status: 400,
      code: -32700,
      message: "Parse error: Invalid JSON",
      id: null,
      counted: true,
    });
  });

  test("an empty body is 400 Parse error (-32700)", async () => {
    expect(await answer(await post(""))).toEqual({
      status: 400,
      code: -32700,
      message: "Parse error: Invalid JSON",
      id: null,
      counted: true,
    });
  });

  test("a body that is not JSON, from a client not accepting SSE, is 406 as before: Accept is checked first", async () => {
    expect((await answer(await post("{not json", { accept: "application/json" }))).status).toBe(406);
  });

  test("JSON that is not a JSON-RPC message is 400 Invalid Request (-32600)", async () => {
    const { status, code, id } = await answer(await post(JSON.stringify({ hello: "world" })));
    expect({ status, code, id }).toEqual({ status: 400, code: -32600, id: null });
  });

  test("a body over 4 MiB announced by Content-Length is 413", async () => {
    expect(await answer(await post(" ".repeat(maxBytes + 1)))).toEqual({
      status: 413,
      code: -32000,
      message: `Payload Too Large: Request body must not exceed ${maxBytes} bytes`,
      id: null,
      counted: true,
    });
  });

  test("a streamed body that grows past 4 MiB is 413", async () => {
    expect(await answer(await post(streamOf(maxBytes + 64 * 1024)))).toEqual({
      status: 413,
      code: -32000,
      message: `Payload Too Large: Request body must not exceed ${maxBytes} bytes`,
      id: null,
      counted: true,
    });
  });
});
