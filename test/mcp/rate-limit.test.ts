import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, setSystemTime, test } from "bun:test";
import { rateLimitedCode } from "../../src/mcp/rate-limit.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connected, refreshRequest, type TokenBody } from "../oauth/token-fixture.ts";
import { keyFor, mcpUrl, rpc, userWithKey } from "./fixture.ts";

// GATEHOUSE_RATE_LIMIT_PER_MINUTE=3: the fourth counted request in a window is refused.
let app: TestApp;
const inspector = "http://localhost:6274";
beforeAll(async () => {
  app = await createTestApp({ env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: "3", GATEHOUSE_ALLOWED_ORIGINS: inspector } });
});
afterAll(() => app.close());

// A fixed clock, on a whole second, so windows and `t` are exact.
const start = new Date("2026-09-01T10:00:00Z");
beforeEach(() => setSystemTime(start));
afterEach(() => setSystemTime());
const later = (seconds: number) => setSystemTime(new Date(start.getTime() + seconds * 1000));

const listTools = (id: number | string = 1) => ({ jsonrpc: "2.0", id, method: "tools/list" });
const legacy = { "mcp-protocol-version": "2025-06-18" };

/** `n` tools/list calls with `token`, each expected to be answered 200. */
async function spend(token: string, n: number) {
  for (let i = 0; i < n; i++) {
    const res = await rpc(app, token, listTools(i), legacy);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
}

describe("over the limit", () => {
  test("the fourth request in a minute is 429 with Retry-After and the RateLimit fields", async () => {
    const { token } = await userWithKey(app);
    await spend(token, 3);
    later(23);
    const res = await rpc(app, token, listTools(7), legacy);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("37");
    expect(res.headers.get("ratelimit-policy")).toBe('"default";q=3;w=60');
    expect(res.headers.get("ratelimit")).toBe('"default";r=0;t=37');
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("the 429 body is a JSON-RPC error answering the request's id, with retry_after_seconds and request_id", async () => {
    const { token } = await userWithKey(app);
    await spend(token, 3);
    const res = await rpc(app, token, listTools("call-4"), legacy);
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({
      jsonrpc: "2.0",
      id: "call-4",
      error: { code: rateLimitedCode, data: { retry_after_seconds: 60 } },
    });
    expect(body.error.message).toContain("60");
    expect(body.error.data.request_id).toBe(res.headers.get("x-request-id")!);
    expect(body.error.data.request_id).not.toBe("");
  });

  test("a request id the client sent is the one in the 429 body", async () => {
    const { token } = await userWithKey(app);
    await spend(token, 3);
    const res = await rpc(app, token, listTools(), { ...legacy, "x-request-id": "client-req-42" });
    expect(res.status).toBe(429);
    expect(res.headers.get("x-request-id")).toBe("client-req-42");
    expect(((await res.json()) as any).error.data.request_id).toBe("client-req-42");
  });

  test("a 429 whose body cannot be read as one request answers id null", async () => {
    const { token } = await userWithKey(app);
    await spend(token, 3);
    const res = await rpc(app, token, [listTools(1), listTools(2)], legacy);
    expect(res.status).toBe(429);
    expect(((await res.json()) as any).id).toBeNull();
  });

  test("an allowed browser origin gets CORS on the 429, with the rate-limit headers exposed", async () => {
    const { token } = await userWithKey(app);
    await spend(token, 3);
    const res = await rpc(app, token, listTools(), { ...legacy, origin: inspector });
    expect(res.status).toBe(429);
    expect(res.headers.get("access-control-allow-origin")).toBe(inspector);
    const exposed = res.headers.get("access-control-expose-headers")!;
    for (const name of ["retry-after", "ratelimit", "ratelimit-policy", "x-request-id"])
      expect(exposed).toContain(name);
  });
});

describe("what counts, and against what", () => {
  test("another API key of the same user is unaffected", async () => {
    const { user, token } = await userWithKey(app);
    await spend(token, 3);
    const other = await keyFor(app, user.id, "full", "Other");
    const res = await rpc(app, other.token, listTools(), legacy);
    expect(res.status).toBe(200);
  });

  test("after the window the key works again with a full quota", async () => {
    const { token } = await userWithKey(app);
    await spend(token, 3);
    expect((await rpc(app, token, listTools(), legacy)).status).toBe(429);
    later(60);
    const res = await rpc(app, token, listTools(), legacy);
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBe('"default";r=2;t=60');
  });

  test("requests answered 401 are not counted against the key they name", async () => {
    const { token } = await userWithKey(app);
    // The key's public id with a wrong secret: whoever knows the id cannot spend its quota.
    const forged = token.slice(0, -4) + (token.endsWith("aaaa") ? "bbbb" : "aaaa");
    for (let i = 0; i < 5; i++) expect((await rpc(app, forged, listTools(), legacy)).status).toBe(401);
    await spend(token, 3);
  });

  test("a 401 carries no RateLimit fields", async () => {
    const res = await rpc(app, null, listTools(), legacy);
    expect(res.status).toBe(401);
    expect(res.headers.get("ratelimit")).toBeNull();
  });

  test("a connection keeps its quota across a token refresh: the limit is per grant, not per access token", async () => {
    const { client, tokens } = await connected(app);
    await spend(tokens.access_token, 2);
    const refreshed = (await (await refreshRequest(app, client.id, tokens.refresh_token)).json()) as TokenBody;
    await spend(refreshed.access_token, 1);
    expect((await rpc(app, refreshed.access_token, listTools(), legacy)).status).toBe(429);
  });
});

describe("pacing", () => {
  test("a normal answer carries RateLimit with what is left and RateLimit-Policy", async () => {
    const { token } = await userWithKey(app);
    const res = await rpc(app, token, listTools(), legacy);
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit")).toBe('"default";r=2;t=60');
    expect(res.headers.get("ratelimit-policy")).toBe('"default";q=3;w=60');
    expect(res.headers.get("x-request-id")).toMatch(/^[\w.-]+$/);
  });

  test("the effective window counts down within the minute", async () => {
    const { token } = await userWithKey(app);
    await spend(token, 1);
    later(45);
    const res = await rpc(app, token, listTools(), legacy);
    expect(res.headers.get("ratelimit")).toBe('"default";r=1;t=15');
  });

  test("a GET over the limit is 429 too, with id null", async () => {
    const { token } = await userWithKey(app);
    await spend(token, 3);
    const res = await fetch(mcpUrl(app), {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
    });
    expect(res.status).toBe(429);
    expect(((await res.json()) as any).id).toBeNull();
  });
});
