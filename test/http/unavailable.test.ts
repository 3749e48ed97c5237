import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { eq } from "drizzle-orm";
import { isUnavailable } from "../../src/http/unavailable.ts";
import { RateCountersUnavailable } from "../../src/security/rate-limit.ts";
import { Browser, createTestApp, freePort, type TestApp } from "../helpers.ts";
import { rpc, userWithKey } from "../mcp/fixture.ts";
import { onPostgres, testDatabaseUrl } from "../support/store.ts";

// A store Gatehouse shares with its other instances out of reach (issue 16):
// here GATEHOUSE_REDIS_URL names a port nothing listens on, so every rate
// limit and throttle fails to count. Each endpoint answers 503 with
// Retry-After in its own shape, and lets nothing through uncounted.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ env: { GATEHOUSE_REDIS_URL: `redis://127.0.0.1:${freePort()}` } });
});
afterAll(() => app.close());

describe("with the rate limit store out of reach", () => {
  test("/mcp answers 503 with a JSON-RPC error and Retry-After, and does not run the call", async () => {
    const { token } = await userWithKey(app);
    const call = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "gatehouse__whoami", arguments: {} } };
    const res = await rpc(app, token, call, { "mcp-protocol-version": "2025-06-18" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = await res.json();
    expect(body).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32603 } });
    expect(body.error.message).toContain("Try again in a few seconds");
    expect(body.error.data.request_id).toBe(res.headers.get("x-request-id"));
    await app.audit.drain();
    const { auditEvents } = app.db.tables;
    expect(await app.db.select().from(auditEvents).where(eq(auditEvents.event, "tool_call"))).toEqual([]);
  });

  test("a sign-in answers a 503 page saying to try again, not a 500", async () => {
    const browser = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await browser.get("/sign-in")).text());
    const res = await browser.post("/sign-in", { csrf, next: "/", email: "someone@example.com", password: "guess" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    const html = await res.text();
    expect(html).toContain("Temporarily unavailable");
    expect(html).toContain("Try again in a few seconds");
  });

  test("client registration answers RFC 6749 JSON: 503 temporarily_unavailable", async () => {
    const res = await app.request("/oauth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "Client", redirect_uris: ["http://localhost:3000/callback"] }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toMatchObject({ error: "temporarily_unavailable" });
  });
});

describe("which failures mean a store out of reach", () => {
  test("a rate limit store's failure, and PostgreSQL refusing the connection", async () => {
    expect(isUnavailable(new RateCountersUnavailable(new Error("Connection closed")))).toBe(true);
    const refused = await new SQL(`postgres://postgres@127.0.0.1:${freePort()}/none`)`SELECT 1`.catch((e) => e);
    expect(isUnavailable(refused)).toBe(true);
    // Wrapped, as Drizzle wraps the driver's error.
    expect(isUnavailable(new Error("Failed query: select 1", { cause: refused }))).toBe(true);
  });

  test("not a bug: a plain error is a 500", () => {
    expect(isUnavailable(new Error("boom"))).toBe(false);
    expect(isUnavailable("boom")).toBe(false);
  });

  test.if(onPostgres)("not a query PostgreSQL refuses: a syntax error is a 500", async () => {
    const sql = new SQL(testDatabaseUrl!, { max: 1 });
    try {
      const error = await sql`SELEC 1`.catch((e) => e);
      expect(error.name).toBe("PostgresError");
      expect(isUnavailable(error)).toBe(false);
    } finally {
      await sql.close();
    }
  });
});
