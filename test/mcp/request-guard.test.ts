import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { mcpUrl, rpc, userWithKey } from "./fixture.ts";

const inspector = "http://localhost:6274";
let app: TestApp;
let token: string;
beforeAll(async () => {
  app = await createTestApp({ env: { GATEHOUSE_ALLOWED_ORIGINS: `${inspector}, https://tools.example` } });
  ({ token } = await userWithKey(app));
});
afterAll(() => app.close());

const listTools = { jsonrpc: "2.0", id: 1, method: "tools/list" };

describe("Origin on /mcp (DNS rebinding)", () => {
  test("no Origin (a non-browser client) is served", async () => {
    expect((await rpc(app, token, listTools)).status).toBe(200);
  });

  test("the public URL's own origin is served, with CORS echoing it", async () => {
    const res = await rpc(app, token, listTools, { origin: app.url });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(app.url);
    expect(res.headers.get("vary")).toContain("origin");
  });

  test("an origin from GATEHOUSE_ALLOWED_ORIGINS is served, with CORS echoing it", async () => {
    const res = await rpc(app, token, listTools, { origin: inspector });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(inspector);
  });

  test("any other origin is 403 before the token is even looked at, without CORS", async () => {
    const res = await rpc(app, token, listTools, { origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect((await res.json()).error.message).toContain("Origin");
  });

  test("the opaque origin `null` is 403", async () => {
    expect((await rpc(app, token, listTools, { origin: "null" })).status).toBe(403);
  });

  test("an allowed origin's preflight gets methods, echoed headers and exposed headers", async () => {
    const res = await fetch(mcpUrl(app), {
      method: "OPTIONS",
      headers: {
        origin: inspector,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, mcp-protocol-version",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(inspector);
    expect(res.headers.get("access-control-allow-methods")).toBe("GET, POST, DELETE, OPTIONS");
    expect(res.headers.get("access-control-allow-headers")).toBe("authorization, content-type, mcp-protocol-version");
    expect(res.headers.get("access-control-expose-headers")).toBe(
      "www-authenticate, mcp-session-id, mcp-protocol-version, retry-after, ratelimit, ratelimit-policy, x-request-id",
    );
  });

  test("a disallowed origin's preflight is 403 without CORS", async () => {
    const res = await fetch(mcpUrl(app), {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("Host on /mcp (DNS rebinding)", () => {
  test("a foreign Host is 421, before authentication", async () => {
    const res = await rpc(app, token, listTools, { host: "evil.example" });
    expect(res.status).toBe(421);
    expect((await res.json()).error.message).toContain("Host");
  });

  test("a foreign Host is 421 even without a token (no challenge to a rebinding page)", async () => {
    const res = await rpc(app, null, listTools, { host: "rebind.evil.example" });
    expect(res.status).toBe(421);
    expect(res.headers.get("www-authenticate")).toBeNull();
  });

  test("with a loopback public URL, another loopback name is accepted", async () => {
    const port = new URL(app.url).port;
    expect((await rpc(app, token, listTools, { host: `localhost:${port}` })).status).toBe(200);
  });

  test("with an https public URL, only its host name is accepted", async () => {
    const other = await createTestApp({ env: { GATEHOUSE_PUBLIC_URL: "https://gatehouse.example" } });
    try {
      const { token: key } = await userWithKey(other);
      const direct = await fetch(`http://127.0.0.1:${other.config.port}/mcp`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
      });
      expect(direct.status).toBe(421);
      const proxied = await fetch(`http://127.0.0.1:${other.config.port}/mcp`, {
        method: "POST",
        headers: {
          host: "gatehouse.example",
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify(listTools),
      });
      expect(proxied.status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe("GATEHOUSE_ALLOWED_ORIGINS", () => {
  const base = { GATEHOUSE_DATA_DIR: "/tmp/unused" };

  test("is empty by default", () => {
    expect(loadConfig(base).allowedOrigins).toEqual([]);
  });

  test("is a comma-separated list of normalized origins", () => {
    const config = loadConfig({ ...base, GATEHOUSE_ALLOWED_ORIGINS: "HTTPS://Tools.Example/ , http://localhost:6274" });
    expect(config.allowedOrigins).toEqual(["https://tools.example", "http://localhost:6274"]);
  });

  test("rejects an entry with a path, naming the setting", () => {
    expect(() => loadConfig({ ...base, GATEHOUSE_ALLOWED_ORIGINS: "https://tools.example/app" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, GATEHOUSE_ALLOWED_ORIGINS: "https://tools.example/app" })).toThrow(
      /GATEHOUSE_ALLOWED_ORIGINS/,
    );
  });

  test("rejects an entry that is not a URL", () => {
    expect(() => loadConfig({ ...base, GATEHOUSE_ALLOWED_ORIGINS: "tools.example" })).toThrow(
      /GATEHOUSE_ALLOWED_ORIGINS/,
    );
  });
});
