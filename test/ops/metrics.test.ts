import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { register } from "prom-client";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, rpc, userWithKey } from "../mcp/fixture.ts";
import { addUser, browserOf } from "../oauth/authorize-fixture.ts";
import { answer, deviceGrantType, poll, startDeviceFlow } from "../oauth/device-fixture.ts";
import { connected, makeClient, refreshRequest } from "../oauth/token-fixture.ts";
import { makeKey, makeUser } from "../support/factories.ts";
import { everythingEntry, waitFor } from "../gateway/upstreams.ts";
import { parseExposition, scrape, sampleValue } from "./metrics-fixture.ts";

// GET /metrics (GATEHOUSE_METRICS, docs/metrics.md): off by default, else
// for an admin's API key; what it counts, read back as Prometheus would.

describe("metrics off (the default)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  test("/metrics is 404, as any unknown path", async () => {
    const admin = await makeUser(app, { isAdmin: true });
    const { token } = await makeKey(app, admin.id);
    const res = await app.request("/metrics", { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(404);
  });
});

describe("metrics on", () => {
  let app: TestApp;
  let adminKey: string;
  beforeAll(async () => {
    app = await createTestApp({ env: { GATEHOUSE_METRICS: "true", GATEHOUSE_RATE_LIMIT_PER_MINUTE: "2" } });
    const admin = await makeUser(app, { isAdmin: true });
    adminKey = (await makeKey(app, admin.id)).token;
  });
  afterAll(() => app.close());

  const metrics = (authorization?: string) =>
    app.request("/metrics", { headers: authorization === undefined ? {} : { authorization } });

  describe("access", () => {
    test("without credentials: 401 with a bare Bearer challenge", async () => {
      const res = await metrics();
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="gatehouse-metrics"');
      expect(res.headers.get("cache-control")).toBe("no-store");
    });

    test("with an unknown API key: 401 invalid_token", async () => {
      const res = await metrics(`Bearer gate_key_${"a".repeat(40)}`);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
      expect(((await res.json()) as { error: string }).error).toBe("invalid_token");
    });

    test("with an admin's OAuth access token: 401, tokens are for /mcp only", async () => {
      const { user, tokens } = await connected(app);
      expect(user.isAdmin).toBe(false);
      const admin = await makeUser(app, { isAdmin: true });
      expect(admin.isAdmin).toBe(true);
      const res = await metrics(`Bearer ${tokens.access_token}`);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    });

    test("with a member's API key: 403 insufficient_scope", async () => {
      const { token } = await userWithKey(app);
      const res = await metrics(`Bearer ${token}`);
      expect(res.status).toBe(403);
      expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
      expect(((await res.json()) as { error: string }).error).toBe("insufficient_scope");
    });

    test("with an admin's API key: 200 in prom-client's text format, every line a sample or a comment", async () => {
      const res = await metrics(`Bearer ${adminKey}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(register.contentType);
      const samples = parseExposition(await res.text());
      expect(samples.some((s) => s.name === "process_cpu_seconds_total")).toBe(true);
      expect(samples.some((s) => s.name === "gatehouse_http_requests_total")).toBe(true);
    });

    test("Bun's unfed event loop lag gauges are left out", async () => {
      const samples = await scrape(app, adminKey);
      expect(samples.filter((s) => s.name.startsWith("nodejs_eventloop_lag"))).toEqual([]);
    });
  });

  describe("HTTP requests", () => {
    test("are labelled with the route pattern, never the raw path", async () => {
      const before = await scrape(app, adminKey);
      const labels = { route: "/keys/:id/rotate", method: "POST" };
      const res = await app.request("/keys/raw-key-id-4711/rotate", { method: "POST" });
      const status = String(res.status);
      const after = await scrape(app, adminKey);
      const name = "gatehouse_http_requests_total";
      expect(sampleValue(after, name, { ...labels, status }) - sampleValue(before, name, { ...labels, status })).toBe(
        1,
      );
      const count = "gatehouse_http_request_duration_seconds_count";
      expect(sampleValue(after, count, labels) - sampleValue(before, count, labels)).toBe(1);
      expect(after.some((s) => Object.values(s.labels).some((v) => v.includes("raw-key-id-4711")))).toBe(false);
    });

    test("a path no route matches is route unmatched, and an unknown method other", async () => {
      await app.request("/no/such/page-8812");
      await app.request("/no/such/page-8813", { method: "PROPFIND" });
      const samples = await scrape(app, adminKey);
      const name = "gatehouse_http_requests_total";
      expect(sampleValue(samples, name, { route: "unmatched", method: "GET", status: "404" })).toBeGreaterThan(0);
      expect(sampleValue(samples, name, { route: "unmatched", method: "other" })).toBeGreaterThan(0);
      expect(samples.some((s) => Object.values(s.labels).some((v) => v.includes("page-88")))).toBe(false);
    });
  });

  describe("tool calls", () => {
    test("a tools/call of gatehouse__whoami counts 1 with outcome ok", async () => {
      const name = "gatehouse_tool_calls_total";
      const labels = { tool: "gatehouse__whoami", outcome: "ok" };
      const before = sampleValue(await scrape(app, adminKey), name, labels);
      const { token } = await userWithKey(app);
      const call = {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "gatehouse__whoami", arguments: {} },
      };
      const res = await rpc(app, token, call, { "mcp-protocol-version": "2025-06-18" });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(sampleValue(await scrape(app, adminKey), name, labels) - before).toBe(1);
    });

    test("a call refused by a read-only key's scope counts with outcome denied", async () => {
      const name = "gatehouse_tool_calls_total";
      const labels = { tool: "gatehouse__revoke_connection", outcome: "denied" };
      const before = sampleValue(await scrape(app, adminKey), name, labels);
      const { token } = await userWithKey(app, "read");
      const params = { name: "gatehouse__revoke_connection", arguments: { id: "x" } };
      const res = await rpc(app, token, { jsonrpc: "2.0", id: 1, method: "tools/call", params });
      expect(res.status).toBe(403);
      await res.arrayBuffer();
      expect(sampleValue(await scrape(app, adminKey), name, labels) - before).toBe(1);
    });
  });

  describe("rate-limit refusals", () => {
    test("every limiter is listed from the start, at 0 until it refuses", async () => {
      const samples = await scrape(app, adminKey);
      const limiters = samples
        .filter((s) => s.name === "gatehouse_rate_limit_refusals_total")
        .map((s) => s.labels.limiter);
      expect(limiters.sort()).toEqual(["device_code", "mcp", "registration", "sign_in"]);
      expect(sampleValue(samples, "gatehouse_rate_limit_refusals_total", { limiter: "device_code" })).toBe(0);
    });

    test("a 429 on /mcp moves the mcp limiter's counter", async () => {
      const name = "gatehouse_rate_limit_refusals_total";
      const before = sampleValue(await scrape(app, adminKey), name, { limiter: "mcp" });
      const { token } = await userWithKey(app);
      const list = { jsonrpc: "2.0", id: 1, method: "tools/list" };
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await rpc(app, token, list, { "mcp-protocol-version": "2025-06-18" });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(sampleValue(await scrape(app, adminKey), name, { limiter: "mcp" }) - before).toBe(1);
    });

    test("the 31st registration in an hour from one address moves the registration limiter's counter", async () => {
      const name = "gatehouse_rate_limit_refusals_total";
      const before = sampleValue(await scrape(app, adminKey), name, { limiter: "registration" });
      const statuses = new Set<number>();
      for (let i = 0; i < 31; i++) {
        const res = await app.request("/oauth/register", { method: "POST", body: "{}" });
        statuses.add(res.status);
        await res.arrayBuffer();
      }
      expect([...statuses]).toEqual([400, 429]);
      expect(sampleValue(await scrape(app, adminKey), name, { limiter: "registration" }) - before).toBe(1);
    });

    test("a throttled sign-in (the sixth try at one account) moves the sign_in limiter's counter", async () => {
      const name = "gatehouse_rate_limit_refusals_total";
      const before = sampleValue(await scrape(app, adminKey), name, { limiter: "sign_in" });
      const user = await makeUser(app, { password: "the right password 1" });
      const browser = new Browser(app.url, app.send);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const csrf = Browser.csrfOf(await (await browser.get("/sign-in")).text());
        const res = await browser.post("/sign-in", { csrf, email: user.email, password: `wrong ${i}` });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      expect(sampleValue(await scrape(app, adminKey), name, { limiter: "sign_in" }) - before).toBe(1);
    });

    test("a throttled device code entry (the 11th wrong code in a session) moves the device_code limiter's counter", async () => {
      const name = "gatehouse_rate_limit_refusals_total";
      const before = sampleValue(await scrape(app, adminKey), name, { limiter: "device_code" });
      const browser = await browserOf(app, await addUser(app), null);
      const csrf = Browser.csrfOf(await (await browser.get("/device")).text());
      const statuses = new Set<number>();
      for (let i = 0; i < 11; i++) {
        const res = await browser.post("/device", { csrf, user_code: "ZZZZ-ZZZZ" });
        statuses.add(res.status);
        await res.arrayBuffer();
      }
      expect([...statuses]).toEqual([400, 429]);
      expect(sampleValue(await scrape(app, adminKey), name, { limiter: "device_code" }) - before).toBe(1);
    });
  });

  describe("tokens issued", () => {
    test("a code exchange and a refresh count by grant type", async () => {
      const name = "gatehouse_tokens_issued_total";
      const before = await scrape(app, adminKey);
      const { client, tokens } = await connected(app);
      const res = await refreshRequest(app, client.id, tokens.refresh_token);
      expect(res.status).toBe(200);
      const after = await scrape(app, adminKey);
      for (const grant_type of ["authorization_code", "refresh_token"])
        expect(sampleValue(after, name, { grant_type }) - sampleValue(before, name, { grant_type })).toBe(1);
    });

    test("a device flow's token, polled after approval, counts under the device code grant type", async () => {
      const name = "gatehouse_tokens_issued_total";
      const labels = { grant_type: deviceGrantType };
      const before = sampleValue(await scrape(app, adminKey), name, labels);
      const { client } = await makeClient(app);
      const flow = await startDeviceFlow(app, client.id);
      await answer(app, flow.device_code, "allow", (await makeUser(app)).id);
      const res = await poll(app, client.id, flow.device_code);
      expect(res.status).toBe(200);
      expect(sampleValue(await scrape(app, adminKey), name, labels) - before).toBe(1);
    });

    test("a refused exchange counts nothing", async () => {
      const name = "gatehouse_tokens_issued_total";
      const before = await scrape(app, adminKey);
      const { client } = await connected(app);
      const res = await refreshRequest(app, client.id, "gate_rt_not-a-real-token");
      expect(res.status).toBe(400);
      const after = await scrape(app, adminKey);
      expect(sampleValue(after, name, { grant_type: "refresh_token" })).toBe(
        sampleValue(before, name, { grant_type: "refresh_token" }),
      );
    });
  });
});

describe("metrics on, with an upstream", () => {
  let app: TestApp;
  let adminKey: string;
  beforeAll(async () => {
    const toml = `
[[upstream]]
name = "everything"
command = "node"
args = ["${everythingEntry}", "stdio"]
`;
    app = await createTestApp({
      gateway: parseGatewayConfig("test.toml", toml, {}),
      env: { GATEHOUSE_METRICS: "true" },
    });
    await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
    const admin = await makeUser(app, { isAdmin: true });
    adminKey = (await makeKey(app, admin.id)).token;
  });
  afterAll(() => app.close());

  test("the upstream's state gauge is 1 for connected and 0 for the others, with its tool count", async () => {
    const samples = await scrape(app, adminKey);
    const state = (s: string) => sampleValue(samples, "gatehouse_upstream_state", { upstream: "everything", state: s });
    expect([state("connected"), state("starting"), state("failed"), state("stopped")]).toEqual([1, 0, 0, 0]);
    const tools = app.gateway!.statuses()[0]!.tools;
    expect(tools).toBeGreaterThan(0);
    expect(sampleValue(samples, "gatehouse_upstream_tools", { upstream: "everything" })).toBe(tools);
  });

  test("a forwarded call counts once for its tool and once in the upstream's latency histogram", async () => {
    const labels = { upstream: "everything", outcome: "ok" };
    const count = "gatehouse_upstream_call_duration_seconds_count";
    const before = await scrape(app, adminKey);
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const result = await client.callTool({ name: "everything__echo", arguments: { message: "hi" } });
    expect(result.isError).toBeFalsy();
    await client.close();
    const after = await scrape(app, adminKey);
    expect(sampleValue(after, count, labels) - sampleValue(before, count, labels)).toBe(1);
    const tool = { tool: "everything__echo", outcome: "ok" };
    expect(
      sampleValue(after, "gatehouse_tool_calls_total", tool) - sampleValue(before, "gatehouse_tool_calls_total", tool),
    ).toBe(1);
    const le60 = { ...labels, le: "60" };
    const bucket = "gatehouse_upstream_call_duration_seconds_bucket";
    expect(sampleValue(after, bucket, le60) - sampleValue(before, bucket, le60)).toBe(1);
  });

  test("a stopped gateway shows as stopped at the next scrape", async () => {
    await app.gateway!.stop();
    const samples = await scrape(app, adminKey);
    expect(sampleValue(samples, "gatehouse_upstream_state", { upstream: "everything", state: "stopped" })).toBe(1);
    expect(sampleValue(samples, "gatehouse_upstream_state", { upstream: "everything", state: "connected" })).toBe(0);
  });
});
