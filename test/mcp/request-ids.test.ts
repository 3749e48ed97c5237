import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { join } from "node:path";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { requestIdMetaKey } from "../../src/mcp/request-id.ts";
import { startHttpUpstream, type HttpUpstream } from "../gateway/http-upstream.ts";
import { waitFor } from "../gateway/upstreams.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { mcpUrl, rpc, rpcMessages, userWithKey } from "./fixture.ts";

// Structured errors (TokPortal, Evenhand): every error answered on /mcp
// names the X-Request-Id of its answer: in error.data.request_id when it is
// a JSON-RPC error, in the result's _meta when a tool failed.

const fixture = join(import.meta.dir, "../conformance/fixture-upstream.ts");
const era = { "mcp-protocol-version": "2025-06-18" };

let app: TestApp;
let web: HttpUpstream;
let token: string;
let readToken: string;
beforeAll(async () => {
  web = startHttpUpstream();
  const toml = `[[upstream]]\nname = "fixture"\ncommand = "${process.execPath}"\nargs = ["${fixture}"]\nprefix = "fx__"\n\n[[upstream]]\nname = "web"\nurl = "${web.url}"\n`;
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, {}) });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"), 15_000);
  token = (await userWithKey(app)).token;
  readToken = (await userWithKey(app, "read")).token;
});
afterAll(async () => {
  await app.close();
  web.stop();
});

type Answer = { status: number; requestId: string; body: Record<string, any> };

async function answerOf(res: Response): Promise<Answer> {
  return { status: res.status, requestId: res.headers.get("x-request-id")!, body: (await rpcMessages(res))[0]! };
}

function post(body: BodyInit, headers: Record<string, string> = {}) {
  return fetch(mcpUrl(app), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${token}`,
      ...era,
      ...headers,
    },
    body,
  });
}

const call = (name: string, args: Record<string, unknown> = {}, id: number | string = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

/** The answer's error.data.request_id is the X-Request-Id it was sent with, which is not empty. */
function expectNamed(answer: Answer) {
  expect(answer.requestId).toMatch(/^[\w.-]{1,64}$/);
  expect(answer.body.error.data.request_id).toBe(answer.requestId);
}

describe("refusals before the request is served", () => {
  test("401 without a bearer keeps its challenge and names the request", async () => {
    const res = await rpc(app, null, call("gatehouse__whoami"), era);
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer resource_metadata=");
    const answer = await answerOf(res);
    expect(answer.status).toBe(401);
    expectNamed(answer);
  });

  test("401 for an unknown token names the request", async () => {
    const res = await rpc(
      app,
      "gate_key_aaaaaaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
      call("gatehouse__whoami"),
      era,
    );
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const answer = await answerOf(res);
    expect(answer.status).toBe(401);
    expectNamed(answer);
  });

  test("a caller's own X-Request-Id is the one named", async () => {
    const answer = await answerOf(
      await rpc(app, null, call("gatehouse__whoami"), { ...era, "x-request-id": "trace-401.a" }),
    );
    expect(answer.body.error.data.request_id).toBe("trace-401.a");
  });

  test("421 for a foreign Host names the request", async () => {
    const answer = await answerOf(await rpc(app, token, call("gatehouse__whoami"), { ...era, host: "evil.example" }));
    expect(answer.status).toBe(421);
    expectNamed(answer);
  });

  test("403 for a foreign Origin names the request, and so does its refused preflight", async () => {
    const answer = await answerOf(
      await rpc(app, token, call("gatehouse__whoami"), { ...era, origin: "https://evil.example" }),
    );
    expect(answer.status).toBe(403);
    expectNamed(answer);
    const preflight = await fetch(mcpUrl(app), {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(403);
    expectNamed(await answerOf(preflight));
  });

  test("400 for a batch under 2025-06-18 names the request", async () => {
    const answer = await answerOf(await post(JSON.stringify([call("gatehouse__whoami")])));
    expect([answer.status, answer.body.error.code]).toEqual([400, -32600]);
    expectNamed(answer);
  });

  test("413 for a body over the bound names the request", async () => {
    const answer = await answerOf(await post(" ".repeat(4 * 1024 * 1024 + 1)));
    expect(answer.status).toBe(413);
    expectNamed(answer);
  });

  test("429 names the request beside retry_after_seconds", async () => {
    const limited = await createTestApp({ env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: "1" } });
    try {
      const key = (await userWithKey(limited)).token;
      await rpc(limited, key, call("gatehouse__whoami"), era);
      const answer = await answerOf(await rpc(limited, key, call("gatehouse__whoami"), era));
      expect(answer.status).toBe(429);
      expect(answer.body.error.data.retry_after_seconds).toBeNumber();
      expectNamed(answer);
    } finally {
      await limited.close();
    }
  });
});

describe("403 for a Read-only key calling a write tool", () => {
  const revoke = call("gatehouse__revoke_connection", { kind: "api_key", id: "x" }, "call-7");

  test("keeps its status and the insufficient_scope challenge", async () => {
    const res = await rpc(app, readToken, revoke, era);
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope", scope="mcp:read mcp:write"');
  });

  test("says permission_denied, the tool, the missing scope:mcp:write and the request id, answering the call's id", async () => {
    const answer = await answerOf(await rpc(app, readToken, revoke, era));
    expect(answer.body).toEqual({
      jsonrpc: "2.0",
      id: "call-7",
      error: {
        code: -32003,
        message: "The tool gatehouse__revoke_connection needs scope mcp:read mcp:write.",
        data: {
          error: "permission_denied",
          tool: "gatehouse__revoke_connection",
          missing: "scope:mcp:write",
          request_id: answer.requestId,
        },
      },
    });
  });

  test("says the same to a 2026-07-28 client, which still sees the 403", async () => {
    const res = await rpc(app, readToken, revoke, { "mcp-protocol-version": "2026-07-28" });
    const answer = await answerOf(res);
    expect(answer.status).toBe(403);
    expect(answer.body.error.data).toEqual({
      error: "permission_denied",
      tool: "gatehouse__revoke_connection",
      missing: "scope:mcp:write",
      request_id: answer.requestId,
    });
  });
});

describe("the SDK's own refusals", () => {
  test("405 for GET names the request", async () => {
    const answer = await answerOf(
      await fetch(mcpUrl(app), { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } }),
    );
    expect(answer.status).toBe(405);
    expectNamed(answer);
  });

  test("405 for DELETE names the request", async () => {
    const answer = await answerOf(
      await fetch(mcpUrl(app), { method: "DELETE", headers: { authorization: `Bearer ${token}` } }),
    );
    expect(answer.status).toBe(405);
    expectNamed(answer);
  });

  test("406 for an Accept without text/event-stream names the request", async () => {
    const answer = await answerOf(
      await post(JSON.stringify(call("gatehouse__whoami")), { accept: "application/json" }),
    );
    expect(answer.status).toBe(406);
    expectNamed(answer);
  });

  test("415 for a Content-Type other than JSON names the request, and keeps the SDK's words", async () => {
    const answer = await answerOf(
      await post(JSON.stringify(call("gatehouse__whoami")), { "content-type": "text/plain" }),
    );
    expect([answer.status, answer.body.error.message]).toEqual([
      415,
      "Unsupported Media Type: Content-Type must be application/json",
    ]);
    expectNamed(answer);
  });

  test("400 for a body that is not JSON names the request", async () => {
    const answer = await answerOf(await post("{not json"));
    expect([answer.status, answer.body.error.code]).toEqual([400, -32700]);
    expectNamed(answer);
  });

  test("400 for an unsupported protocol version names the request and keeps the supported versions", async () => {
    const answer = await answerOf(
      await post(JSON.stringify(call("gatehouse__whoami")), { "mcp-protocol-version": "1999-01-01" }),
    );
    expect(answer.status).toBe(400);
    expectNamed(answer);
  });

  test("the rewritten answer keeps the RateLimit fields and a Content-Length that fits the body", async () => {
    const res = await post("{not json");
    expect(res.headers.get("ratelimit")).not.toBeNull();
    const length = res.headers.get("content-length");
    const text = await res.text();
    if (length !== null) expect(Number(length)).toBe(new TextEncoder().encode(text).byteLength);
    expect(JSON.parse(text).error.data.request_id).toBe(res.headers.get("x-request-id"));
  });
});

describe("JSON-RPC errors in a 200 answer", () => {
  test("an unknown method names the request", async () => {
    const answer = await answerOf(await post(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "nothing/here" })));
    expect([answer.status, answer.body.id, answer.body.error.code]).toEqual([200, 4, -32601]);
    expectNamed(answer);
  });

  test("an unknown tool names the request", async () => {
    const answer = await answerOf(await post(JSON.stringify(call("fx__no_such_tool"))));
    expect(answer.body.error.code).toBe(-32602);
    expectNamed(answer);
  });

  test("a prompt no upstream offers names the request", async () => {
    const answer = await answerOf(
      await post(JSON.stringify({ jsonrpc: "2.0", id: 5, method: "prompts/get", params: { name: "nowhere" } })),
    );
    expect(answer.body.error.code).toBe(-32602);
    expectNamed(answer);
  });

  test("a 2025 resource-not-found keeps data exactly {uri}, which clients recognise it by", async () => {
    const answer = await answerOf(
      await post(
        JSON.stringify({ jsonrpc: "2.0", id: 6, method: "resources/read", params: { uri: "test://nowhere" } }),
      ),
    );
    expect(answer.body.error).toMatchObject({ code: -32602, data: { uri: "test://nowhere" } });
    expect(Object.keys(answer.body.error.data)).toEqual(["uri"]);
  });

  test("a grant refusal (permission_denied, missing grant:<tool>) names the request", async () => {
    const user = await userWithKey(app);
    const { createApiKey } = await import("../../src/keys/api-keys.ts");
    const limited = await createApiKey(app.db, {
      userId: user.user.id,
      name: "only-web",
      access: "full",
      tools: [],
      expiresInSeconds: null,
      now: Math.floor(Date.now() / 1000),
    });
    const answer = await answerOf(
      await rpc(app, limited.token, call("gatehouse__revoke_connection", { kind: "api_key", id: "x" }), era),
    );
    expect(answer.body.error.data).toMatchObject({
      error: "permission_denied",
      missing: "grant:gatehouse__revoke_connection",
      request_id: answer.requestId,
    });
  });
});

describe("a tool that failed names the request in the result's _meta", () => {
  test("an upstream's isError result (2025-06-18)", async () => {
    const answer = await answerOf(await post(JSON.stringify(call("fx__test_error_handling"))));
    expect(answer.body.result.isError).toBe(true);
    expect(answer.body.result._meta).toEqual({ [requestIdMetaKey]: answer.requestId });
  });

  test("an upstream's isError result reaches a 2026-07-28 client with the id of the answer it came in", async () => {
    const seen: string[] = [];
    const fetchAndNote = async (input: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(input, init);
      seen.push(res.headers.get("x-request-id")!);
      return res;
    };
    const client = new Client({ name: "request-id-test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(mcpUrl(app)), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
        fetch: fetchAndNote,
      }),
    );
    const result = await client.callTool({ name: "fx__test_error_handling", arguments: {} });
    expect(result.isError).toBe(true);
    expect(result._meta?.[requestIdMetaKey]).toBe(seen.at(-1));
    await client.close();
  });

  test("a built-in tool's failure", async () => {
    const answer = await answerOf(
      await post(JSON.stringify(call("gatehouse__revoke_connection", { kind: "api_key", id: "nosuchkey" }))),
    );
    expect(answer.body.result.isError).toBe(true);
    expect(answer.body.result._meta[requestIdMetaKey]).toBe(answer.requestId);
  });

  test("arguments the SDK refuses against the input schema", async () => {
    const answer = await answerOf(
      await post(JSON.stringify(call("gatehouse__revoke_connection", { kind: "neither", id: 3 }))),
    );
    expect(answer.body.result.isError).toBe(true);
    expect(answer.body.result.content[0].text).toStartWith("Input validation error:");
    expect(answer.body.result._meta[requestIdMetaKey]).toBe(answer.requestId);
  });

  test("a successful result carries no request id", async () => {
    const answer = await answerOf(await post(JSON.stringify(call("gatehouse__whoami"))));
    expect(answer.body.result.isError).toBeFalsy();
    expect(answer.body.result._meta?.[requestIdMetaKey]).toBeUndefined();
  });

  test("a failure Gatehouse reports for an upstream that went away", async () => {
    web.stop();
    const answer = await answerOf(await post(JSON.stringify(call("web__lookup", { text: "a" }))));
    expect(answer.body.result.isError).toBe(true);
    expect(answer.body.result.content[0].text).toStartWith("upstream web failed during tools/call lookup:");
    expect(answer.body.result._meta[requestIdMetaKey]).toBe(answer.requestId);
  });
});
