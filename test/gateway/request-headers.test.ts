import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { startHttpFixture, type HttpFixture } from "../conformance/fixture-upstream-http.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, rpc, rpcMessages, userWithKey } from "../mcp/fixture.ts";
import { textOf, waitFor } from "./upstreams.ts";

// Protocol 2026-07-28 through the gateway, to a 2026-07-28 upstream: the
// request headers of SEP-2243 (Mcp-Method, Mcp-Name, and Mcp-Param-* for an
// argument the tool's inputSchema marks with x-mcp-header) are checked on
// /mcp against the body, and sent on to the upstream, which checks them too;
// list results carry SEP-2549 caching hints that keep them private.

let upstream: HttpFixture;
let app: TestApp;
let token: string;
beforeAll(async () => {
  upstream = startHttpFixture();
  const toml = `[[upstream]]\nname = "fx"\nurl = "${upstream.url}"\n`;
  app = await createTestApp({ gateway: parseGatewayConfig("gatehouse.toml", toml, {}) });
  await waitFor(() => app.gateway!.statuses()[0]!.state === "connected");
  token = (await userWithKey(app)).token;
});
afterAll(async () => {
  await app.close();
  upstream.stop();
});

const envelope = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "raw-test", version: "1.0.0" },
  "io.modelcontextprotocol/clientCapabilities": {},
};
const callHeaderTool = (headers: Record<string, string>) =>
  rpc(
    app,
    token,
    {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "fx__test_header_param", arguments: { region: "eu-west" }, _meta: envelope },
    },
    {
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": "fx__test_header_param",
      ...headers,
    },
  );

describe("SEP-2243 headers of an upstream tool", () => {
  test("/mcp lists the tool with its x-mcp-header declaration", async () => {
    const client = await connectClient(app, token, "auto");
    const { tools } = await client.listTools();
    const tool = tools.find((t) => t.name === "fx__test_header_param")!;
    expect((tool.inputSchema.properties as Record<string, Record<string, unknown>>).region!["x-mcp-header"]).toBe(
      "Region",
    );
  });

  test("the SDK client's call (which sends Mcp-Param-Region) reaches the upstream, which gets the header too", async () => {
    const client = await connectClient(app, token, "auto");
    // The upstream answers 400 / -32020 when the header is absent or differs, so a result shows Gatehouse sent it on.
    expect(textOf(await client.callTool({ name: "fx__test_header_param", arguments: { region: "eu-west" } }))).toBe(
      "region eu-west",
    );
  });

  test("a raw call whose Mcp-Param-Region matches the body, plain or Base64, is served", async () => {
    for (const value of ["eu-west", `=?base64?${btoa("eu-west")}?=`]) {
      const res = await callHeaderTool({ "mcp-param-region": value });
      expect(res.status).toBe(200);
      const [message] = await rpcMessages(res);
      expect(message!.result.content[0].text).toBe("region eu-west");
    }
  });

  test("a call without Mcp-Param-Region, or with another value, is 400 with -32020 (HeaderMismatch)", async () => {
    for (const headers of [{}, { "mcp-param-region": "us-east" }] as Record<string, string>[]) {
      const res = await callHeaderTool(headers);
      expect(res.status).toBe(400);
      const [message] = await rpcMessages(res);
      expect(message!.error.code).toBe(-32020);
      expect(message!.id).toBe(7);
    }
  });

  test("a call whose Mcp-Name names another tool is 400 with -32020", async () => {
    const res = await callHeaderTool({ "mcp-name": "fx__test_simple_text", "mcp-param-region": "eu-west" });
    expect(res.status).toBe(400);
    expect((await rpcMessages(res))[0]!.error.code).toBe(-32020);
  });
});

describe("SEP-2549 caching hints", () => {
  test("tools/list, prompts/list and resources/list say ttlMs 0 and cacheScope private: what /mcp lists depends on the caller", async () => {
    for (const method of ["tools/list", "prompts/list", "resources/list"]) {
      const res = await rpc(
        app,
        token,
        { jsonrpc: "2.0", id: 1, method, params: { _meta: envelope } },
        { "mcp-protocol-version": "2026-07-28", "mcp-method": method },
      );
      expect(res.status).toBe(200);
      const [message] = await rpcMessages(res);
      expect({ ttlMs: message!.result.ttlMs, cacheScope: message!.result.cacheScope }).toEqual({
        ttlMs: 0,
        cacheScope: "private",
      });
    }
  });
});
