import { afterAll, beforeAll, expect, test } from "bun:test";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, userWithKey } from "../mcp/fixture.ts";
import { startHttpUpstream, type HttpUpstream } from "./http-upstream.ts";
import { textOf, waitFor } from "./upstreams.ts";

// Calls to a Streamable HTTP upstream reuse the TCP connections fetch keeps
// alive, rather than opening one per call.

let web: HttpUpstream;
let app: TestApp;
beforeAll(async () => {
  web = startHttpUpstream();
  const toml = `[[upstream]]\nname = "web"\nurl = "${web.url}"\n`;
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, {}) });
  await waitFor(() => app.gateway!.statuses()[0]!.state === "connected");
});
afterAll(async () => {
  await app.close();
  web.stop();
});

test("20 calls one after another reach the HTTP upstream over one connection", async () => {
  const { token } = await userWithKey(app);
  const client = await connectClient(app, token);
  for (let i = 0; i < 20; i++) {
    const result = await client.callTool({ name: "web__lookup", arguments: { text: `${i}` } });
    expect(textOf(result)).toBe(`found ${i}`);
  }
  expect(web.toolCallPorts).toHaveLength(20);
  expect(new Set(web.toolCallPorts).size).toBe(1);
});
