import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, userWithKey } from "../mcp/fixture.ts";
import { startHttpUpstream, type HttpUpstream } from "./http-upstream.ts";
import { everythingEntry, textOf, waitFor } from "./upstreams.ts";

// Through /mcp with the real client SDK and an API key, to real upstreams:
// @modelcontextprotocol/server-everything over stdio and an SDK v2 server over HTTP.

let web: HttpUpstream;
let app: TestApp;
beforeAll(async () => {
  web = startHttpUpstream();
  const toml = `
[[upstream]]
name = "everything"
command = "node"
args = ["${everythingEntry}", "stdio"]
hide = ["trigger-*", "simulate-*"]

[[upstream]]
name = "web"
url = "${web.url}"
headers = { Authorization = "Bearer \${WEB_TOKEN}" }
`;
  app = await createTestApp({
    gateway: parseGatewayConfig("test.toml", toml, { WEB_TOKEN: "upstream-secret" }),
    env: { GATEHOUSE_TOOL_TIMEOUT: "1" },
  });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
});
afterAll(async () => {
  await app.close();
  web.stop();
});

describe("tools/list through the gateway", () => {
  test("shows the built-in tools, the prefixed everything tools and the HTTP upstream's tools", async () => {
    const { token } = await userWithKey(app);
    const names = (await (await connectClient(app, token)).listTools()).tools.map((t) => t.name);
    expect(names).toContain("gatehouse__whoami");
    expect(names).toContain("everything__echo");
    expect(names).toContain("everything__get-sum");
    expect(names).toEqual(expect.arrayContaining(["web__lookup", "web__store", "web__slow"]));
  });

  test("hide removes tools", async () => {
    const { token } = await userWithKey(app);
    const names = (await (await connectClient(app, token)).listTools()).tools.map((t) => t.name);
    expect(names.filter((n) => n.startsWith("everything__trigger-") || n.startsWith("everything__simulate-"))).toEqual(
      [],
    );
  });

  test("title, description, input schema and annotations pass through", async () => {
    const { token } = await userWithKey(app);
    const { tools } = await (await connectClient(app, token)).listTools();
    const echo = tools.find((t) => t.name === "everything__echo")!;
    expect(echo.title).toBe("Echo Tool");
    expect(echo.description).toBe("Echoes back the input string");
    expect(echo.inputSchema.properties).toEqual({ message: { type: "string", description: "Message to echo" } });
    expect(echo.annotations).toEqual({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    });
    expect(tools.find((t) => t.name === "web__lookup")!.annotations).toEqual({
      readOnlyHint: true,
      openWorldHint: false,
    });
  });

  test("a tool without readOnlyHint is a write tool and never claims readOnlyHint", async () => {
    const { token } = await userWithKey(app);
    const { tools } = await (await connectClient(app, token)).listTools();
    expect(tools.find((t) => t.name === "web__store")!.annotations?.readOnlyHint).not.toBe(true);
  });

  test("a read-only key sees only read tools", async () => {
    const { token } = await userWithKey(app, "read");
    const { tools } = await (await connectClient(app, token)).listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain("everything__echo");
    expect(names).toContain("web__lookup");
    expect(names).not.toContain("web__store");
    expect(names).not.toContain("everything__toggle-simulated-logging");
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
  });
});

describe("tools/call through the gateway", () => {
  test("everything__echo returns the upstream's answer", async () => {
    const { token } = await userWithKey(app);
    const result = await (await connectClient(app, token)).callTool({
      name: "everything__echo",
      arguments: { message: "hello" },
    });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe("Echo: hello");
  });

  test("the HTTP upstream's tool answers", async () => {
    const { token } = await userWithKey(app);
    const result = await (await connectClient(app, token)).callTool({ name: "web__store", arguments: { text: "x" } });
    expect(textOf(result)).toBe("stored x");
  });

  test("the HTTP upstream gets its configured Authorization (from the environment), never the client's token", async () => {
    const { token } = await userWithKey(app);
    const seen = web.authorizations.length;
    await (await connectClient(app, token)).callTool({ name: "web__lookup", arguments: { text: "k" } });
    const during = web.authorizations.slice(seen);
    expect(during.length).toBeGreaterThan(0);
    expect(new Set(during)).toEqual(new Set(["Bearer upstream-secret"]));
    expect(web.authorizations.some((a) => a?.includes(token.slice(0, 20)))).toBe(false);
  });

  test("a call past GATEHOUSE_TOOL_TIMEOUT returns a timeout error naming the upstream, quickly", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const started = Date.now();
    const result = await client.callTool({ name: "web__slow", arguments: { ms: 10_000 } });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe("upstream web did not answer tools/call slow within 1 s");
  });

  test("the timed-out call is cancelled at the upstream", async () => {
    await waitFor(() => web.slowAborted >= 1, 3000);
  });

  test("20 concurrent calls share one upstream connection", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const before = { handshakes: web.handshakes, calls: web.toolCalls };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.callTool({ name: "web__lookup", arguments: { text: String(i) } })),
    );
    expect(results.map(textOf)).toEqual(Array.from({ length: 20 }, (_, i) => `found ${i}`));
    expect(web.toolCalls - before.calls).toBe(20);
    expect(web.handshakes).toBe(before.handshakes);
    expect(web.handshakes).toBe(1);
  });

  test("a tool the upstream adds appears after its list_changed", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    web.addTool();
    await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === "web__added"), 5000);
    expect(textOf(await client.callTool({ name: "web__added", arguments: { text: "y" } }))).toBe("added y");
  });
});

describe("resources and prompts through the gateway", () => {
  test("resources/list shows the upstream's resources and resources/read reads one", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const { resources } = await client.listResources();
    const doc = resources.find((r) => r.uri.startsWith("demo://resource/static/document/"))!;
    expect(doc).toBeDefined();
    const read = await client.readResource({ uri: doc.uri });
    expect(read.contents[0]!.uri).toBe(doc.uri);
  });

  test("a templated resource URI is routed to its upstream", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.length).toBeGreaterThan(0);
    const uri = resourceTemplates[0]!.uriTemplate.replace(/\{[^}]+\}/, "1");
    expect((await client.readResource({ uri })).contents.length).toBeGreaterThan(0);
  });

  test("prompts/list prefixes the names and prompts/get gets one", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toContain("everything__simple-prompt");
    const prompt = await client.getPrompt({ name: "everything__simple-prompt" });
    expect(prompt.messages.length).toBeGreaterThan(0);
  });
});

describe("/readyz with upstreams", () => {
  test("lists each upstream as connected with its tool count", async () => {
    const body = await (await fetch(`${app.url}/readyz`)).json();
    expect(body.status).toBe("ok");
    expect(body.upstreams.map((u: { name: string; state: string }) => [u.name, u.state])).toEqual([
      ["everything", "connected"],
      ["web", "connected"],
    ]);
  });
});
