import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/server";
import { join } from "node:path";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { startHttpFixture, type HttpFixture } from "../conformance/fixture-upstream-http.ts";
import { startAskingUpstream, type AskingUpstream } from "../gateway/asking-upstream.ts";
import { everythingEntry, waitFor } from "../gateway/upstreams.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { userWithKey } from "./fixture.ts";

// The direct tools/call path (src/mcp/direct-call.ts) against the SDK's own
// exchange, message for message. One app serves the built-in tools and the
// tools of the upstreams the gateway and conformance suites call: the
// conformance fixture over stdio (2025) and over Streamable HTTP (2026-07-28,
// with its input-required tools), server-everything over stdio, and the
// asking 2026-07-28 upstream. Every tool is called in every revision, once
// through the SDK (the switch off) and once directly, with the same
// X-Request-Id; status, Content-Type and body must be the same bytes. Masked:
// a round's sealed requestState, fresh on every round by design (HMAC over a
// new nonce and expiry), and the clock time in server-everything's resource text.

const modernEnvelope = (capabilities: Record<string, unknown>) => ({
  [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
  [CLIENT_CAPABILITIES_META_KEY]: capabilities,
  [CLIENT_INFO_META_KEY]: { name: "differential", version: "1.0.0" },
});

const everyCapability = { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} };

/** Each revision a client may speak, with what its requests carry. */
const revisions = [
  { name: "2025-03-26", meta: undefined },
  { name: "2025-06-18", meta: undefined },
  { name: "2025-11-25", meta: undefined },
  { name: "2026-07-28", meta: modernEnvelope({}) },
  { name: "2026-07-28 answering rounds", meta: modernEnvelope(everyCapability) },
] as const;

// Tools that change what the next call sees (a list, a subscription), or never
// end unless cancelled: calling them twice in a row would not compare like with like.
const notRepeatable =
  /toggle|dynamic|update_resource|cancellable|long-running|trigger|subscri|streaming_elicitation|roots/;

/**
 * A 2025 upstream's question to a caller who can answer holds the call until the retry (or the tool
 * timeout): the second of two calls would meet the first still held. input-rounds.test.ts drives those.
 */
const holdsItsCall = (revision: (typeof revisions)[number], tool: string) =>
  revision.name.endsWith("answering rounds") && /^(conformance|everything)__/.test(tool) && /sampl|elicit/.test(tool);

/** Arguments for a tool from its input schema: each required property gets a plain value of its type. */
function argumentsFor(schema: { properties?: Record<string, any>; required?: string[] }): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const name of schema.required ?? []) {
    const property = schema.properties?.[name] ?? {};
    if (property.enum) args[name] = property.enum[0];
    else if (property.type === "number" || property.type === "integer") args[name] = 2;
    else if (property.type === "boolean") args[name] = true;
    else if (property.type === "array") args[name] = [];
    else if (property.type === "object") args[name] = {};
    else args[name] = name === "uri" ? "test://static/resource/1" : "differential";
  }
  return args;
}

let app: TestApp;
let token: string;
let http: HttpFixture;
let asking: AskingUpstream;
const direct = { enabled: true, answered: 0 };

beforeAll(async () => {
  http = startHttpFixture();
  asking = startAskingUpstream();
  const fixture = join(import.meta.dir, "../conformance/fixture-upstream.ts");
  const toml = `
[[upstream]]
name = "conformance"
command = "${process.execPath}"
args = ["${fixture}"]

[[upstream]]
name = "modern"
url = "${http.url}"

[[upstream]]
name = "everything"
command = "node"
args = ["${everythingEntry}", "stdio"]

[[upstream]]
name = "asking"
url = "${asking.url}"
`;
  app = await createTestApp({
    gateway: parseGatewayConfig("test.toml", toml, {}),
    env: { GATEHOUSE_TOOL_TIMEOUT: "5", GATEHOUSE_RATE_LIMIT_PER_MINUTE: "100000" },
    directToolCalls: direct,
  });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
  ({ token } = await userWithKey(app));
}, 60_000);
afterAll(async () => {
  await app.close();
  http.stop();
  asking.stop();
});

/** A JSON-RPC request POSTed to /mcp in `version`; a 2026-07-28 one names its method (and tool) in the standard headers. */
function post(
  key: string,
  version: string,
  message: { id: string | number; method: string; params: Record<string, unknown> },
  extra: Record<string, string> = {},
) {
  const name = message.params.name;
  const standard =
    version === "2026-07-28"
      ? { "mcp-method": message.method, ...(typeof name === "string" && { "mcp-name": name }) }
      : {};
  return app.request("/mcp", {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": version,
      ...standard,
      ...extra,
    },
    body: JSON.stringify({ jsonrpc: "2.0", ...message }),
  });
}

const versionOf = (revision: (typeof revisions)[number]) => (revision.meta ? "2026-07-28" : revision.name);

let sent = 0;
async function send(revision: (typeof revisions)[number], name: string, args: Record<string, unknown>) {
  const params = { name, arguments: args, ...(revision.meta && { _meta: revision.meta }) };
  const response = await post(
    token,
    versionOf(revision),
    { id: "same-id", method: "tools/call", params },
    { "x-request-id": `differential-${sent++}` },
  );
  // server-everything's dynamic resources name the second they were made: the one upstream text that varies.
  const text = (await response.text())
    .replace(/"requestState":"[^"]+"/g, '"requestState":"<sealed>"')
    .replace(/created at \d{1,2}:\d{2}:\d{2} [AP]M/g, "created at <time>");
  return { status: response.status, type: response.headers.get("content-type"), text };
}

async function bothWays(revision: (typeof revisions)[number], name: string, args: Record<string, unknown>) {
  direct.enabled = false;
  const before = direct.answered;
  const sdk = await send(revision, name, args);
  expect(direct.answered).toBe(before);
  direct.enabled = true;
  const ours = await send(revision, name, args);
  // Same X-Request-Id on both: the answers name it, so it must not differ either.
  return {
    sdk: { ...sdk, text: sdk.text.replaceAll(/differential-\d+/g, "rid") },
    ours: { ...ours, text: ours.text.replaceAll(/differential-\d+/g, "rid") },
    directly: direct.answered > before,
  };
}

describe("the direct tools/call path answers as the SDK does", () => {
  test("every tool in every revision: the same status, Content-Type and bytes", async () => {
    const tools = app.gateway ? [...(await listTools())] : [];
    const callable = tools.filter((t) => !notRepeatable.test(t.name));
    expect(callable.length).toBeGreaterThan(30);
    const mismatches: string[] = [];
    let directly = 0;
    let calls = 0;
    for (const revision of revisions) {
      for (const tool of callable) {
        if (holdsItsCall(revision, tool.name)) continue;
        const args = argumentsFor(tool.inputSchema);
        const { sdk, ours, directly: wasDirect } = await bothWays(revision, tool.name, args);
        calls++;
        if (wasDirect) directly++;
        if (sdk.status !== ours.status || sdk.type !== ours.type || sdk.text !== ours.text)
          mismatches.push(
            `${revision.name} ${tool.name}\n  sdk:    ${sdk.status} ${sdk.type} ${sdk.text}\n  direct: ${ours.status} ${ours.type} ${ours.text}`,
          );
      }
    }
    expect(mismatches).toEqual([]);
    // Most calls are plain ones; the rest (refused arguments, x-mcp-header tools) went to the SDK on purpose.
    expect(directly).toBeGreaterThan(calls * 0.8);
  }, 240_000);
});

/** A tools/list in `revision` with this key, as raw status, Content-Type and body. */
async function list(revision: (typeof revisions)[number], key: string) {
  const params = revision.meta ? { _meta: revision.meta } : {};
  const response = await post(key, versionOf(revision), { id: 9, method: "tools/list", params });
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

describe("tools/list", () => {
  test("the kept answer is the SDK's, per revision and per visible tool set", async () => {
    const { token: readKey } = await userWithKey(app, "read");
    for (const revision of revisions) {
      for (const key of [token, readKey]) {
        direct.enabled = false;
        const sdk = await list(revision, key);
        direct.enabled = true;
        // The first of each kind goes to the SDK (unless an earlier test asked), and its answer is kept.
        const first = await list(revision, key);
        const before = direct.answered;
        const kept = await list(revision, key);
        expect(direct.answered).toBe(before + 1);
        expect(first).toEqual(sdk);
        expect(kept).toEqual(sdk);
      }
      // A read-only key's list is its own: no write tool in it.
      const names = (text: string) => text.match(/"name":"[^"]+"/g)!.length;
      expect(names((await list(revision, readKey)).text)).toBeLessThan(names((await list(revision, token)).text));
    }
  });
});

describe("what goes to the SDK, and what the direct path streams", () => {
  test("a tools/list after an upstream's tools changed is the new list, not the kept one", async () => {
    const modern = revisions[3];
    const before = (await list(modern, token)).text;
    await list(modern, token); // kept now
    expect(before).not.toContain("conformance__test_dynamic_tool");
    await send(modern, "conformance__test_trigger_tool_change", {});
    await waitFor(() => app.gateway!.tools().some((t) => t.name === "conformance__test_dynamic_tool"));
    expect((await list(modern, token)).text).toContain("conformance__test_dynamic_tool");
    await send(modern, "conformance__test_trigger_tool_change", {});
    await waitFor(() => !app.gateway!.tools().some((t) => t.name === "conformance__test_dynamic_tool"));
    expect((await list(modern, token)).text).not.toContain("conformance__test_dynamic_tool");
  });

  test("a 2025 call whose upstream logs streams the log message before the result, directly", async () => {
    const before = direct.answered;
    const answer = await send(revisions[1], "conformance__test_tool_with_logging", {});
    expect(direct.answered).toBe(before + 1);
    expect(answer.type).toBe("text/event-stream");
    const events = answer.text.split("\n\n").filter(Boolean);
    expect(events.length).toBe(4);
    expect(events.slice(0, 3).every((e) => e.includes('"method":"notifications/message"'))).toBe(true);
    expect(events[3]).toContain('"result"');
  });

  test.each([
    ["a progress token", { progressToken: "p1" }, "2025-06-18"],
    ["a log level", { ...modernEnvelope({}), "io.modelcontextprotocol/logLevel": "info" }, "2026-07-28"],
    ["other _meta", { ...modernEnvelope({}), "example.com/trace": "x" }, "2026-07-28"],
  ])("a call with %s goes to the SDK", async (_what, meta, version) => {
    const before = direct.answered;
    const params = { name: "gatehouse__whoami", arguments: {}, _meta: meta };
    const response = await post(token, version, { id: 1, method: "tools/call", params });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("structuredContent");
    expect(direct.answered).toBe(before);
  });

  test("arguments the tool's schema refuses go to the SDK, which words the refusal", async () => {
    const before = direct.answered;
    const { sdk, ours } = await bothWays(revisions[3], "everything__echo", { message: 42 });
    expect(direct.answered).toBe(before);
    expect(ours).toEqual(sdk);
    expect(ours.text).toContain("Input validation error");
  });
});

async function listTools(): Promise<{ name: string; inputSchema: any }[]> {
  const response = await post(token, "2025-06-18", { id: 1, method: "tools/list", params: {} });
  const text = await response.text();
  const data = text.split("\n").find((line) => line.startsWith("data:"))!;
  return JSON.parse(data.slice(5)).result.tools;
}
