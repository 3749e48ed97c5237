import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUser } from "../../src/accounts/users.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, rpc, rpcMessages, userWithKey } from "../mcp/fixture.ts";
import { addClient, addUser, authorizePath, browserOf, nowSeconds, openConsent } from "../oauth/authorize-fixture.ts";
import { startNamedToolsUpstream, type NamedToolsUpstream } from "./named-tools-upstream.ts";
import { waitFor } from "./upstreams.ts";

// Upstream tools whose names break MCP's tool-name rule (1 to 128 of
// A-Z a-z 0-9 _ - ., as /mcp lists them and as the upstream names them) are
// never offered, callable or grantable; /admin/upstreams names them, and the
// log names each once.

const xss = `x"><img src=x onerror=alert(1)>`;
const long = "a".repeat(129);
// Fine alone, 130 characters behind the prefix "odd__".
const longWithPrefix = "b".repeat(125);
const bad = [xss, "", long, "two words", "dir/tool", longWithPrefix];
const refusedLog = "upstream tool refused: its name breaks MCP's tool-name rule";

let upstream: NamedToolsUpstream;
let app: TestApp;
beforeAll(async () => {
  upstream = startNamedToolsUpstream(["fine_tool", ...bad]);
  app = await createTestApp({
    gateway: parseGatewayConfig("test.toml", `[[upstream]]\nname = "odd"\nurl = "${upstream.url}"\n`, {}),
  });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
});
afterAll(async () => {
  await app.close();
  upstream.stop();
});

const checkboxes = (html: string) =>
  [...html.matchAll(/<input type="checkbox" name="tool" value="([^"]*)"/g)].map((m) => m[1]);
const refusalLines = (name: string) =>
  app.logs.filter((l) => l.msg === refusedLog && l.upstream === "odd" && l.tool === name.slice(0, 200));

describe("over /mcp", () => {
  test("tools/list offers only the upstream tool whose name follows the rule", async () => {
    const { token } = await userWithKey(app);
    const names = (await (await connectClient(app, token)).listTools()).tools.map((t) => t.name);
    expect(names.filter((n) => !n.startsWith("gatehouse__"))).toEqual(["odd__fine_tool"]);
  });

  test("calling a refused tool is the usual unknown-tool error, and never reaches the upstream", async () => {
    const { token } = await userWithKey(app);
    const call = (name: string) =>
      rpc(
        app,
        token,
        { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: {} } },
        { "mcp-protocol-version": "2025-06-18" },
      );
    const answer = async (name: string) => {
      const res = await call(name);
      return { message: (await rpcMessages(res))[0]!, requestId: res.headers.get("x-request-id") };
    };
    const unknown = await answer("odd__never_offered");
    const refused = await answer(`odd__${xss}`);
    const notFound = (name: string, requestId: string | null) => ({
      jsonrpc: "2.0",
      id: 1,
      error: { code: -32602, message: `Tool ${name} not found`, data: { request_id: requestId } },
    });
    expect(unknown.message).toEqual(notFound("odd__never_offered", unknown.requestId));
    expect(refused.message).toEqual(notFound(`odd__${xss}`, refused.requestId));
    expect(upstream.calls).toEqual([]);
  });

  test("the one good tool is called as usual", async () => {
    const { token } = await userWithKey(app);
    const result = await (await connectClient(app, token)).callTool({ name: "odd__fine_tool", arguments: {} });
    expect((result.content as { text: string }[])[0]!.text).toBe("ran fine_tool");
  });
});

describe("on the pages", () => {
  test("the keys page offers only the good tool", async () => {
    const html = await (await (await browserOf(app, await addUser(app))).get("/keys")).text();
    expect(checkboxes(html)).toEqual(["gatehouse__revoke_connection", "odd__fine_tool"]);
    expect(html).not.toContain("onerror");
  });

  test("the consent page offers only the good tool", async () => {
    const { html } = await openConsent(
      await browserOf(app, await addUser(app)),
      authorizePath((await addClient(app)).id),
    );
    expect(checkboxes(html)).toEqual(["gatehouse__revoke_connection", "odd__fine_tool"]);
    expect(html).not.toContain("onerror");
  });

  test("/admin/upstreams names the refused tools, escaped and cut, in one sentence", async () => {
    const admin = await createUser(app.db, {
      email: "root@example.com",
      password: "correct horse battery staple",
      passwordCost: app.config.passwordHashCost,
      isAdmin: true,
      now: nowSeconds(),
    });
    const html = await (await (await browserOf(app, admin.id)).get("/admin/upstreams")).text();
    const row =
      /<p class="refused-tools" data-refused-by="odd"><strong>odd<\/strong> — <span>([^<]*)<\/span><\/p>/.exec(html);
    expect(row).not.toBeNull();
    expect(row![1]).toBe(
      "6 tools refused: their names break MCP&#x27;s tool-name rule (1 to 128 characters, prefix included, each a letter, digit, &quot;_&quot;, &quot;-&quot; or &quot;.&quot;): " +
        `&quot;x\\&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&quot;, &quot;&quot;, &quot;${"a".repeat(40)}…&quot; (129 characters), &quot;two words&quot;, &quot;dir/tool&quot;, &quot;${"b".repeat(40)}…&quot; (125 characters).`,
    );
    expect(html).not.toContain("<img");
  });
});

describe("the log", () => {
  test("names each refused tool once, with the upstream, and not again after a list refresh", async () => {
    for (const name of bad) expect(refusalLines(name)).toHaveLength(1);
    upstream.offer(["fine_tool", ...bad, "later_tool", "new bad"]);
    await waitFor(() => app.gateway!.tools().some((t) => t.name === "odd__later_tool"));
    for (const name of [...bad, "new bad"]) expect(refusalLines(name)).toHaveLength(1);
    expect(app.gateway!.statuses()[0]!.refusedTools).toEqual([...bad, "new bad"]);
  });
});
