// Shared setup for the /mcp tests: users, API keys and OAuth tokens made
// directly or through the real token endpoint, raw requests, and the real
// MCP client SDK v2 over Streamable HTTP.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { AccessLevel } from "../../src/keys/api-keys.ts";
import type { TestApp } from "../helpers.ts";
import { makeKey, makeUser } from "../support/factories.ts";

export const prmPath = "/.well-known/oauth-protected-resource/mcp";

export function mcpUrl(app: TestApp): string {
  return `${app.url}/mcp`;
}

/** The 401 challenge with no token sent. */
export function bareChallenge(app: TestApp): string {
  return `Bearer resource_metadata="${app.url}${prmPath}", scope="mcp:read mcp:write"`;
}

export const keyFor = makeKey;

/** A fresh user with one API key. */
export async function userWithKey(app: TestApp, access: AccessLevel = "full") {
  const user = await makeUser(app);
  const { apiKey, token } = await makeKey(app, user.id, access);
  return { user, apiKey, token };
}

const initializeParams = (protocolVersion: string) => ({
  protocolVersion,
  capabilities: {},
  clientInfo: { name: "raw-test", version: "1.0.0" },
});

/** A raw JSON-RPC POST as a 2025-era client sends it. */
export function rpc(app: TestApp, token: string | null, body: unknown, headers: Record<string, string> = {}) {
  return app.request("/mcp", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(token !== null && { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

export function rawInitialize(app: TestApp, token: string, protocolVersion: string) {
  return rpc(app, token, { jsonrpc: "2.0", id: 1, method: "initialize", params: initializeParams(protocolVersion) });
}

/** The JSON-RPC messages of a response, whether it came as JSON or as an SSE stream. */
export async function rpcMessages(res: Response): Promise<Record<string, any>[]> {
  const text = await res.text();
  if (!(res.headers.get("content-type") ?? "").includes("text/event-stream")) return [JSON.parse(text)];
  return text
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => JSON.parse(line.slice(5)));
}

/**
 * The SDK client over Streamable HTTP with a static bearer credential.
 * `auto` negotiates 2026-07-28; `legacy` does the 2025 initialize handshake.
 */
export async function connectClient(app: TestApp, token: string, mode: "auto" | "legacy" = "auto") {
  const client = new Client({ name: "gatehouse-test", version: "1.0.0" }, { versionNegotiation: { mode } });
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl(app)), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    onInsufficientScope: "throw",
  });
  await client.connect(transport);
  return client;
}

/** The structured result of a tool call (our tools send it beside the text). */
export function structured(result: unknown): Record<string, any> {
  return (result as { structuredContent: Record<string, any> }).structuredContent;
}
