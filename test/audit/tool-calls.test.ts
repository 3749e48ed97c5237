import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AuditEntry } from "../../src/audit/entry.ts";
import type { AuditRecorder } from "../../src/audit/recorder.ts";
import { auditedToolCall } from "../../src/audit/tool-calls.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { newCaller } from "../../src/mcp/caller.ts";
import { toolError, type ToolRun } from "../../src/mcp/tools/definition.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, rpc, userWithKey } from "../mcp/fixture.ts";
import { connected, makeUser, nowSeconds } from "../oauth/token-fixture.ts";
import { auditRows, detailOf, onlyAuditRow } from "./fixture.ts";

// One audit entry per tools/call of a built-in tool, through the real /mcp
// endpoint with the real SDK client (and raw JSON-RPC where the response
// headers matter).

let app: TestApp;
beforeAll(async () => {
  // A rate limit the batching test cannot reach.
  app = await createTestApp({ env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: "100000" } });
});
afterAll(() => app.close());

const legacy = { "mcp-protocol-version": "2025-06-18" };
const call = (name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name, arguments: args },
});

describe("a built-in tool call", () => {
  test("with an API key records user, key, tool, outcome ok, a duration and no client", async () => {
    const { user, apiKey, token } = await userWithKey(app);
    await (await connectClient(app, token)).callTool({ name: "gatehouse__whoami", arguments: {} });
    const row = await onlyAuditRow(app, { event: "tool_call", userId: user.id });
    expect(row).toMatchObject({
      outcome: "ok",
      apiKeyId: apiKey.id,
      clientId: null,
      grantId: null,
      tool: "gatehouse__whoami",
      upstream: null,
    });
    expect(typeof row.durationMs).toBe("number");
    expect(row.durationMs!).toBeGreaterThanOrEqual(0);
  });

  test("with an OAuth token records the client and the connection, no key", async () => {
    const { user, client, authorization, tokens } = await connected(app);
    await (await connectClient(app, tokens.access_token)).callTool({ name: "gatehouse__whoami", arguments: {} });
    const row = await onlyAuditRow(app, { event: "tool_call", userId: user.id });
    expect(row).toMatchObject({
      outcome: "ok",
      clientId: client.id,
      grantId: authorization.id,
      apiKeyId: null,
      tool: "gatehouse__whoami",
    });
  });

  test("records the X-Request-Id the response carried, and the client address", async () => {
    const { user, token } = await userWithKey(app);
    const res = await rpc(app, token, call("gatehouse__whoami"), legacy);
    expect(res.status).toBe(200);
    await res.text();
    const requestId = res.headers.get("x-request-id");
    expect(requestId).toBeTruthy();
    expect(await onlyAuditRow(app, { event: "tool_call", userId: user.id })).toMatchObject({
      requestId,
      ip: "127.0.0.1",
    });
  });

  test("a caller's own X-Request-Id is the one recorded", async () => {
    const { user, token } = await userWithKey(app);
    await (await rpc(app, token, call("gatehouse__whoami"), { ...legacy, "x-request-id": "trace-abc.123" })).text();
    expect((await onlyAuditRow(app, { event: "tool_call", userId: user.id })).requestId).toBe("trace-abc.123");
  });

  test("a tool that fails is outcome error with its message", async () => {
    const { user, token } = await userWithKey(app);
    const result = await (await connectClient(app, token)).callTool({
      name: "gatehouse__revoke_connection",
      arguments: { kind: "api_key", id: "nosuchkey" },
    });
    expect(result.isError).toBe(true);
    const row = await onlyAuditRow(app, { event: "tool_call", userId: user.id });
    expect(row.outcome).toBe("error");
    expect(detailOf(row).error).toBe("You have no live API key with id nosuchkey.");
  });

  test("every call of a session is its own entry", async () => {
    const { user, token } = await userWithKey(app);
    const client = await connectClient(app, token);
    await client.callTool({ name: "gatehouse__whoami", arguments: {} });
    await client.callTool({ name: "gatehouse__list_connections", arguments: {} });
    await client.listTools();
    expect((await auditRows(app, { event: "tool_call", userId: user.id })).map((r) => r.tool)).toEqual([
      "gatehouse__whoami",
      "gatehouse__list_connections",
    ]);
  });
});

describe("a refused tool call", () => {
  test("the 403 scope gate records outcome denied, reason insufficient_scope, with the request id", async () => {
    const { user, apiKey, token } = await userWithKey(app, "read");
    const res = await rpc(app, token, call("gatehouse__revoke_connection", { kind: "api_key", id: "x" }), legacy);
    expect(res.status).toBe(403);
    const row = await onlyAuditRow(app, { event: "tool_call", userId: user.id });
    expect(row).toMatchObject({
      outcome: "denied",
      apiKeyId: apiKey.id,
      tool: "gatehouse__revoke_connection",
      requestId: res.headers.get("x-request-id"),
    });
    expect(detailOf(row).reason).toBe("insufficient_scope");
  });

  test("a write tool outside the key's grant records outcome denied, reason permission_denied", async () => {
    const user = await makeUser(app);
    const { apiKey, token } = await createApiKey(app.db, {
      userId: user.id,
      name: "limited",
      access: "full",
      tools: [],
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const res = await rpc(app, token, call("gatehouse__revoke_connection", { kind: "api_key", id: "x" }), legacy);
    await res.text();
    const row = await onlyAuditRow(app, { event: "tool_call", userId: user.id });
    expect(row).toMatchObject({ outcome: "denied", apiKeyId: apiKey.id, tool: "gatehouse__revoke_connection" });
    expect(detailOf(row).reason).toBe("permission_denied");
  });
});

describe("batching", () => {
  test("300 calls from many clients at once are all written after flush()", async () => {
    const { user, token } = await userWithKey(app);
    const clients = await Promise.all(Array.from({ length: 10 }, () => connectClient(app, token)));
    await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: 30 }, () => c.callTool({ name: "gatehouse__whoami", arguments: {} })),
      ),
    );
    const rows = await auditRows(app, { event: "tool_call", userId: user.id });
    expect(rows.length).toBe(300);
    expect(rows.every((r) => r.outcome === "ok")).toBe(true);
  });
});

describe("how a run ended reaches the audit log as a value, and only the result reaches the caller", () => {
  const recorded: AuditEntry[] = [];
  const recorder: AuditRecorder = {
    argumentsMode: "none",
    record: (entry) => void recorded.push(entry),
    flush() {},
    drain: async () => {},
    close: async () => {},
  };
  const caller = newCaller({
    userId: "u1",
    email: "u1@example.com",
    via: { kind: "api_key", id: "k1", name: "key" },
    scopes: ["mcp:read", "mcp:write"],
    tools: null,
    expiresAt: null,
  });
  const run = (ran: ToolRun) =>
    auditedToolCall(
      recorder,
      { tool: { name: "web__slow", upstream: "web" }, caller, args: {}, context: null },
      () => ran,
    );

  test.each(["timeout", "cancelled"] as const)(
    "a run that ended by %s is recorded so, and the caller gets the bare result",
    async (ended) => {
      recorded.length = 0;
      const result = toolError("upstream web did not answer");
      const sent = await run({ result, ended });
      expect(recorded.map((e) => ({ outcome: e.outcome, error: e.detail?.error }))).toEqual([
        { outcome: ended, error: "upstream web did not answer" },
      ]);
      expect(sent).toBe(result);
      expect(Object.getOwnPropertySymbols(sent)).toEqual([]);
      expect(Object.keys(sent).sort()).toEqual(["content", "isError"]);
    },
  );

  test("a failing run that says nothing more is an error", async () => {
    recorded.length = 0;
    await run({ result: toolError("refused") });
    expect(recorded.map((e) => e.outcome)).toEqual(["error"]);
  });
});
