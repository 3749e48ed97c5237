import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { startHttpUpstream, type HttpUpstream } from "../gateway/http-upstream.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, userWithKey } from "../mcp/fixture.ts";
import { connected } from "../oauth/token-fixture.ts";
import { detailOf, onlyAuditRow } from "./fixture.ts";
import { everythingEntry, waitFor } from "../gateway/upstreams.ts";

// Upstream tool calls: @modelcontextprotocol/server-everything over stdio and
// an SDK v2 server over HTTP, through /mcp with the real client SDK.

let web: HttpUpstream;
let app: TestApp;
beforeAll(async () => {
  web = startHttpUpstream();
  const toml = `
[[upstream]]
name = "everything"
command = "node"
args = ["${everythingEntry}", "stdio"]

[[upstream]]
name = "web"
url = "${web.url}"
`;
  app = await createTestApp({
    gateway: parseGatewayConfig("test.toml", toml, {}),
    env: { GATEHOUSE_TOOL_TIMEOUT: "1" },
  });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
});
afterAll(async () => {
  await app.close();
  web.stop();
});

describe("an upstream tool call", () => {
  test("server-everything's echo records tool, upstream, outcome ok, duration and arguments", async () => {
    const { user, apiKey, token } = await userWithKey(app);
    await (await connectClient(app, token)).callTool({ name: "everything__echo", arguments: { message: "hello" } });
    const row = await onlyAuditRow(app, { event: "tool_call", userId: user.id });
    expect(row).toMatchObject({ outcome: "ok", apiKeyId: apiKey.id, tool: "everything__echo", upstream: "everything" });
    expect(row.durationMs).toBeGreaterThanOrEqual(0);
    expect(detailOf(row).arguments).toEqual({ message: "hello" });
  });

  test("over OAuth it records the client and connection", async () => {
    const { user, client, authorization, tokens } = await connected(app);
    await (await connectClient(app, tokens.access_token)).callTool({
      name: "everything__get-sum",
      arguments: { a: 2, b: 3 },
    });
    const row = await onlyAuditRow(app, { event: "tool_call", userId: user.id });
    expect(row).toMatchObject({
      outcome: "ok",
      clientId: client.id,
      grantId: authorization.id,
      tool: "everything__get-sum",
      upstream: "everything",
    });
    expect(detailOf(row).arguments).toEqual({ a: 2, b: 3 });
  });

  test("a long argument is cut in the log (redacted, the default)", async () => {
    const { user, token } = await userWithKey(app);
    await (await connectClient(app, token)).callTool({
      name: "everything__echo",
      arguments: { message: "z".repeat(1000) },
    });
    expect(detailOf(await onlyAuditRow(app, { event: "tool_call", userId: user.id })).arguments.message).toBe(
      `${"z".repeat(200)}…[+800 chars]`,
    );
  });

  test("a call past GATEHOUSE_TOOL_TIMEOUT is outcome timeout, naming the upstream", async () => {
    const { user, token } = await userWithKey(app);
    const result = await (await connectClient(app, token)).callTool({ name: "web__slow", arguments: { ms: 10_000 } });
    expect(result.isError).toBe(true);
    const row = await onlyAuditRow(app, { event: "tool_call", userId: user.id });
    expect(row).toMatchObject({ outcome: "timeout", tool: "web__slow", upstream: "web" });
    expect(detailOf(row).error).toBe("upstream web did not answer tools/call slow within 1 s");
  });

  test("the HTTP upstream's write tool records outcome ok", async () => {
    const { user, token } = await userWithKey(app);
    await (await connectClient(app, token)).callTool({ name: "web__store", arguments: { text: "v" } });
    expect(await onlyAuditRow(app, { event: "tool_call", userId: user.id })).toMatchObject({
      outcome: "ok",
      tool: "web__store",
      upstream: "web",
    });
  });
});
