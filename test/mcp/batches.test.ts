import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, setSystemTime, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { rateLimitedCode } from "../../src/mcp/rate-limit.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { rpc, rpcMessages, userWithKey } from "./fixture.ts";

// JSON-RPC batches on /mcp: only MCP 2025-03-26 has them, and there each
// message counts against the rate limit (GATEHOUSE_RATE_LIMIT_PER_MINUTE=10
// here), a batch that does not fit being refused whole.
let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: "10" }, listen: false });
});
afterAll(() => app.close());

// A fixed clock, on a whole second, so windows and `t` are exact.
const start = new Date("2026-09-01T10:00:00Z");
beforeEach(() => setSystemTime(start));
afterEach(() => setSystemTime());

const whoami = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "gatehouse__whoami", arguments: {} },
});
const batchOf = (n: number) => Array.from({ length: n }, (_, i) => whoami(i + 1));
const era = (version: string) => ({ "mcp-protocol-version": version });

/** How many tool calls of `userId` ran: every run is an audit entry. */
async function toolCallsRun(userId: string): Promise<number> {
  await app.audit.drain();
  const { auditEvents } = app.db.tables;
  return (
    await app.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, userId), eq(auditEvents.event, "tool_call")))
  ).length;
}

/** `n` single tools/call requests, each expected to be answered 200. */
async function spend(token: string, n: number) {
  for (let i = 0; i < n; i++) {
    const res = await rpc(app, token, whoami(i), era("2025-03-26"));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
}

describe("revisions without batches", () => {
  test.each(["2025-06-18", "2025-11-25", "2026-07-28"])(
    "under %s a batch is 400 Invalid Request (-32600), id null, and nothing in it runs",
    async (version) => {
      const { user, token } = await userWithKey(app);
      const res = await rpc(app, token, batchOf(3), era(version));
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const body = (await res.json()) as Record<string, any>;
      expect(body).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600 } });
      expect(body.error.message).toContain(version);
      expect(await toolCallsRun(user.id)).toBe(0);
    },
  );

  test("a refused batch counts as one request", async () => {
    const { token } = await userWithKey(app);
    const res = await rpc(app, token, batchOf(5), era("2025-06-18"));
    expect(res.status).toBe(400);
    expect(res.headers.get("ratelimit")).toBe('"default";r=9;t=60');
  });

  test("a single message under 2025-06-18 is served as before", async () => {
    const { user, token } = await userWithKey(app);
    const res = await rpc(app, token, whoami(1), era("2025-06-18"));
    expect(res.status).toBe(200);
    expect((await rpcMessages(res))[0]!.result.isError).toBeFalsy();
    expect(await toolCallsRun(user.id)).toBe(1);
  });
});

describe("2025-03-26 batches", () => {
  test.each([
    ["MCP-Protocol-Version 2025-03-26", era("2025-03-26")],
    ["no MCP-Protocol-Version (2025-03-26 assumed)", {}],
  ])("with %s every message runs and counts: RateLimit r= is what is left after all of them", async (_, headers) => {
    const { user, token } = await userWithKey(app);
    const res = await rpc(app, token, batchOf(3), headers);
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBe('"default";r=7;t=60');
    const answers = await rpcMessages(res);
    expect(
      answers
        .flat()
        .map((m) => m.id)
        .sort(),
    ).toEqual([1, 2, 3]);
    expect(await toolCallsRun(user.id)).toBe(3);
  });

  test("a batch that exactly fits what is left runs whole and leaves 0", async () => {
    const { user, token } = await userWithKey(app);
    await spend(token, 4);
    const res = await rpc(app, token, batchOf(6), era("2025-03-26"));
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBe('"default";r=0;t=60');
    expect(await toolCallsRun(user.id)).toBe(10);
  });

  test("a batch larger than what is left is 429 whole: nothing runs, nothing is counted", async () => {
    const { user, token } = await userWithKey(app);
    await spend(token, 8);
    const res = await rpc(app, token, batchOf(3), era("2025-03-26"));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(res.headers.get("ratelimit-policy")).toBe('"default";q=10;w=60');
    expect(res.headers.get("ratelimit")).toBe('"default";r=2;t=60');
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({
      jsonrpc: "2.0",
      id: null,
      error: { code: rateLimitedCode, data: { retry_after_seconds: 60 } },
    });
    expect(body.error.data.request_id).toBe(res.headers.get("x-request-id")!);
    expect(body.error.message).toContain("3 messages");
    expect(await toolCallsRun(user.id)).toBe(8);
    // The two left are still there.
    await spend(token, 2);
    expect((await rpc(app, token, whoami(1), era("2025-03-26"))).status).toBe(429);
  });

  test("100 tools/call in one POST under a limit of 10 run none of them", async () => {
    const { user, token } = await userWithKey(app);
    const res = await rpc(app, token, batchOf(100), {});
    expect(res.status).toBe(429);
    expect(res.headers.get("ratelimit")).toBe('"default";r=10;t=60');
    expect(await toolCallsRun(user.id)).toBe(0);
  });
});
