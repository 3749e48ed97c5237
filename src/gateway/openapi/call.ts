import type { CallToolResult, ServerContext } from "@modelcontextprotocol/server";
import { readLimited, SafeFetchError } from "../../security/ssrf-fetch.ts";
import { toolError, type ToolRun } from "../../mcp/tools/definition.ts";
import type { Operation } from "./operations.ts";
import { buildRequest } from "./request.ts";
import { fetchSameOrigin, RedirectRefusedError } from "./same-origin-fetch.ts";

// One tool call of an OpenAPI upstream: the request its operation describes,
// under the tool timeout and the caller's cancellation; the answer as a text
// item holding the body (and structuredContent when the body is a JSON
// object). A status of 400 or more is a tool error naming the status. Every
// failure is a tool result, never a throw: the caller never waits past the
// deadline and Gatehouse never crashes because an API did.

/** Where an OpenAPI upstream's calls go. */
export interface ApiTarget {
  /** The upstream's name, for messages. */
  name: string;
  baseUrl: string;
  headers: Record<string, string>;
  /** The configured headers' values (and the tokens in them), which never reach a caller even when the API echoes them. */
  secrets: readonly string[];
}

// What a tool result may carry: well above a JSON page of an API, well below what would strain the server.
const maxResponseBytes = 8 * 1024 * 1024;
const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** The configured headers' values and each longer word in them (the token of "Bearer <token>"), longest first. */
export function secretsOf(headers: Record<string, string>): string[] {
  const words = Object.values(headers).flatMap((value) => [value, ...value.split(/\s+/)]);
  return [...new Set(words.filter((word) => word.length >= 8))].sort((a, b) => b.length - a.length);
}

function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => out.replaceAll(secret, "[redacted]"), text);
}

function jsonObjectOf(text: string, contentType: string | null): Record<string, unknown> | undefined {
  if (!jsonMediaType.test(contentType ?? "")) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export async function callOperation(
  target: ApiTarget,
  operation: Operation,
  args: unknown,
  ctx: ServerContext,
  timeoutMs: number,
): Promise<ToolRun> {
  const what = `${operation.method} ${operation.path}`;
  const request = buildRequest(operation, target.baseUrl, (args ?? {}) as Record<string, unknown>, target.headers);
  if (!request.ok) return { result: toolError(`${operation.name}: ${request.message}`) };
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([ctx.mcpReq.signal, timeout]);
  try {
    const res = await fetchSameOrigin(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal,
    });
    const text = redact(new TextDecoder().decode(await readLimited(res, maxResponseBytes)), target.secrets);
    const structured = jsonObjectOf(text, res.headers.get("content-type"));
    const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
    const failed = res.status >= 400;
    const shown = failed ? (text === "" ? status : `${status}\n${text}`) : text === "" ? status : text;
    const result: CallToolResult = {
      ...(failed && { isError: true }),
      content: [{ type: "text", text: shown }],
      ...(structured && { structuredContent: structured }),
    };
    return { result };
  } catch (error) {
    if (ctx.mcpReq.signal.aborted)
      return { result: toolError(`The call to ${operation.name} was cancelled.`), ended: "cancelled" };
    if (timeout.aborted)
      return {
        result: toolError(`${target.name} did not answer ${what} within ${timeoutMs / 1000} s`),
        ended: "timeout",
      };
    if (error instanceof RedirectRefusedError)
      return { result: toolError(`${target.name} answered ${what} with ${error.message}`) };
    if (error instanceof SafeFetchError)
      return { result: toolError(`${target.name} answered ${what} with a body larger than ${maxResponseBytes} bytes`) };
    return {
      result: toolError(
        redact(
          `${target.name} failed during ${what}: ${error instanceof Error ? error.message : String(error)}`,
          target.secrets,
        ),
      ),
    };
  }
}
