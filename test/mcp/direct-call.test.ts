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
// X-Request-Id; status, Content-Type and body must be the same bytes. The one
// thing masked is a round's sealed requestState, which is fresh on every
// round by design (HMAC over a new nonce and expiry).

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

let sent = 0;
async function send(revision: (typeof revisions)[number], name: string, args: Record<string, unknown>) {
  const modern = revision.meta !== undefined;
  const body = {
    jsonrpc: "2.0",
    id: `call-${sent}`,
    method: "tools/call",
    params: { name, arguments: args, ...(modern && { _meta: revision.meta }) },
  };
  const version = modern ? "2026-07-28" : revision.name;
  const response = await app.request("/mcp", {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": version,
      "x-request-id": `differential-${sent++}`,
      ...(modern && { "mcp-method": "tools/call", "mcp-name": name }),
    },
    body: JSON.stringify(body).replace(/"call-\d+"/, '"same-id"'),
  });
  const text = (await response.text()).replace(/"requestState":"[^"]+"/g, '"requestState":"<sealed>"');
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

async function listTools(): Promise<{ name: string; inputSchema: any }[]> {
  const response = await app.request("/mcp", {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
  });
  const text = await response.text();
  const data = text.split("\n").find((line) => line.startsWith("data:"))!;
  return JSON.parse(data.slice(5)).result.tools;
}
