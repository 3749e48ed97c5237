import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  LOG_LEVEL_META_KEY,
  ProtocolError,
  ResourceNotFoundError,
  type Client,
  type LoggingMessageNotification,
} from "@modelcontextprotocol/client";
import { join } from "node:path";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, userWithKey } from "../mcp/fixture.ts";
import { waitFor } from "./upstreams.ts";

// What travels with a forwarded request besides its arguments: the caller's
// cancellation, the upstream's log messages, completions, resource
// subscriptions. The upstream is the conformance fixture (SDK v2, stdio),
// which writes a stderr line (in Gatehouse's log) for what it saw.

const fixture = join(import.meta.dir, "../conformance/fixture-upstream.ts");

let app: TestApp;
let token: string;
const stderrLines = () =>
  app.logs.filter((l) => l.msg === "upstream stderr" && l.upstream === "fixture").map((l) => l.line as string);
const sawLine = (line: string) => stderrLines().includes(line);

beforeAll(async () => {
  const toml = `[[upstream]]\nname = "fixture"\ncommand = "${process.execPath}"\nargs = ["${fixture}"]\nprefix = "fx__"\n`;
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, {}) });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"), 15_000);
  ({ token } = await userWithKey(app));
});
afterAll(() => app.close());

describe("cancellation", () => {
  for (const mode of ["legacy", "auto"] as const) {
    test(`a ${mode === "legacy" ? "2025" : "2026-07-28"} client's cancellation reaches the upstream`, async () => {
      const client = await connectClient(app, token, mode);
      const controller = new AbortController();
      const call = client.callTool(
        { name: "fx__test_cancellable", arguments: { tag: mode } },
        { signal: controller.signal },
      );
      await waitFor(() => sawLine(`test_cancellable ${mode} started`));
      controller.abort();
      await expect(call).rejects.toThrow();
      await waitFor(() => sawLine(`test_cancellable ${mode} cancelled`));
    });
  }
});

describe("log messages", () => {
  const logsOf = (client: Client) => {
    const seen: LoggingMessageNotification["params"][] = [];
    client.setNotificationHandler("notifications/message", (n) => void seen.push(n.params));
    return seen;
  };
  const logged = ["Tool execution started", "Tool processing data", "Tool execution completed"].map((data) => ({
    level: "info" as const,
    logger: "conformance-fixture",
    data,
  }));

  test("the upstream's log messages during a call reach a 2025 caller, in order, before the result", async () => {
    const client = await connectClient(app, token, "legacy");
    const seen = logsOf(client);
    await client.setLoggingLevel("debug");
    const result = await client.callTool({ name: "fx__test_tool_with_logging", arguments: {} });
    expect(result.isError).toBeFalsy();
    expect(seen).toEqual(logged);
  });

  test("a 2026-07-28 caller gets them at the level its request carries", async () => {
    const client = await connectClient(app, token, "auto");
    const seen = logsOf(client);
    await client.callTool({
      name: "fx__test_tool_with_logging",
      arguments: {},
      _meta: { [LOG_LEVEL_META_KEY]: "info" },
    });
    expect(seen).toEqual(logged);
  });

  test("a 2026-07-28 caller gets none above its level, and none when it names no level", async () => {
    const client = await connectClient(app, token, "auto");
    const seen = logsOf(client);
    await client.callTool({
      name: "fx__test_tool_with_logging",
      arguments: {},
      _meta: { [LOG_LEVEL_META_KEY]: "warning" },
    });
    await client.callTool({ name: "fx__test_tool_with_logging", arguments: {} });
    expect(seen).toEqual([]);
  });

  test("/mcp declares logging, completions and resource subscriptions", async () => {
    const client = await connectClient(app, token, "legacy");
    expect(client.getServerCapabilities()).toMatchObject({
      logging: {},
      completions: {},
      resources: { subscribe: true },
    });
  });
});

describe("completion", () => {
  test("a prompt argument is completed by the prompt's upstream, under its own name", async () => {
    const client = await connectClient(app, token, "legacy");
    const { completion } = await client.complete({
      ref: { type: "ref/prompt", name: "fx__test_prompt_with_arguments" },
      argument: { name: "arg1", value: "par" },
    });
    expect(completion.values).toEqual(["paris", "park", "party"]);
    await waitFor(() => sawLine("completion ref/prompt test_prompt_with_arguments par"));
  });

  test("a resource template argument is completed by the template's upstream", async () => {
    const client = await connectClient(app, token, "legacy");
    const { completion } = await client.complete({
      ref: { type: "ref/resource", uri: "test://template/{id}/data" },
      argument: { name: "id", value: "pa" },
    });
    expect(completion.values).toEqual(["paris", "park", "party"]);
  });

  test("an unknown prompt is a JSON-RPC invalid params error", async () => {
    const client = await connectClient(app, token, "legacy");
    const failure = client.complete({
      ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
      argument: { name: "arg1", value: "x" },
    });
    await expect(failure).rejects.toBeInstanceOf(ProtocolError);
    await expect(failure).rejects.toMatchObject({ code: -32602 });
  });
});

describe("resource subscriptions", () => {
  const uri = "test://watched-resource";
  const count = (line: string) => stderrLines().filter((l) => l === line).length;

  test("the upstream is subscribed once for two subscribers, and unsubscribed after the last", async () => {
    const [a, b] = await Promise.all([connectClient(app, token, "legacy"), connectClient(app, token, "legacy")]);
    await a.subscribeResource({ uri });
    await waitFor(() => count(`subscribed ${uri}`) === 1);
    await b.subscribeResource({ uri });
    await a.unsubscribeResource({ uri });
    await b.unsubscribeResource({ uri });
    await waitFor(() => count(`unsubscribed ${uri}`) === 1);
    expect(count(`subscribed ${uri}`)).toBe(1);
  });

  test("an update the upstream sends reaches a 2026-07-28 listener of that URI", async () => {
    const subscriber = await connectClient(app, token, "legacy");
    await subscriber.subscribeResource({ uri });
    const listener = await connectClient(app, token, "auto");
    const updated: string[] = [];
    listener.setNotificationHandler("notifications/resources/updated", (n) => void updated.push(n.params.uri));
    const subscription = await listener.listen({ resourceSubscriptions: [uri] });
    await subscriber.callTool({ name: "fx__test_update_resource", arguments: { uri } });
    await waitFor(() => updated.length > 0);
    expect(updated).toEqual([uri]);
    await subscription.close();
    await subscriber.unsubscribeResource({ uri });
  });

  test("a resource no upstream offers is a resource-not-found error", async () => {
    const client = await connectClient(app, token, "legacy");
    await expect(client.subscribeResource({ uri: "test://nowhere" })).rejects.toBeInstanceOf(ResourceNotFoundError);
  });
});
