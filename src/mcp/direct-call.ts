import {
  CLIENT_CAPABILITIES_META_KEY,
  type AuthInfo,
  type CallToolResult,
  type ClientCapabilities,
  type Implementation,
  type InputRequiredResult,
  type ServerContext,
} from "@modelcontextprotocol/server";
import {
  inputRoundRefusal,
  isInputRequiredResult,
  modernEncoded,
  projectedResult,
  wellFormedRound,
} from "./call-result-wire.ts";
import type { Caller } from "./caller.ts";
import {
  type AnswerHeaders,
  type DirectAnswer,
  jsonAnswer,
  type Notify,
  type PlainRequest,
  plainRequest,
  sseAnswer,
} from "./direct-exchange.ts";
import { mayCall } from "./gating.ts";
import { messageWithRequestId } from "./request-id.ts";
import type { CatalogueEntry, ToolCatalogue } from "./server.ts";
import { toolError } from "./tools/definition.ts";
import { isObject, type JsonObject } from "../json-object.ts";

// The direct path: a plain tools/call answered without the SDK's per-request
// exchange (an McpServer built for the request, a transport connected,
// the message validated and routed, an SSE stream for 2025 callers). The
// tool's own handler (audited, as on the SDK path) runs with a context that
// carries what Gatehouse's tools read: the caller, the request id, the
// cancellation signal, the 2026-07-28 envelope, and log messages for 2025
// callers. The answer is the message the SDK would send, byte for byte
// (call-result-wire.ts; test/mcp/direct-call.test.ts sends every call both
// ways), framed as it would frame it: JSON for 2026-07-28, one SSE event for
// the 2025 revisions, which stream when a log message comes before the result.
//
// Everything else goes to the SDK, with the body already parsed: any
// request the SDK might answer differently from a plain call (progress
// tokens, a log level, round retries, other _meta, unknown or hidden tools,
// arguments the schema refuses, headers that do not match the body), so a
// refusal or an oddity is worded by the SDK alone.

const callParams = new Set(["name", "arguments", "_meta"]);

interface PlainCall extends PlainRequest {
  name: string;
  args: JsonObject | undefined;
}

/** The call, when it is one the direct path answers exactly as the SDK would; null sends it to the SDK. */
function plainCall(request: Request, body: unknown): PlainCall | null {
  if (!isObject(body) || !isObject(body.params)) return null;
  const { name, arguments: args } = body.params;
  if (typeof name !== "string" || (args !== undefined && !isObject(args))) return null;
  const plain = plainRequest(request, body, "tools/call", callParams, name);
  return plain && { ...plain, name, args };
}

/** The arguments as the tool's input schema gives them back, or null when it refuses them (the SDK words that). */
async function validArguments(entry: CatalogueEntry, args: JsonObject | undefined): Promise<{ value: unknown } | null> {
  const checked = await entry.tool.inputSchema["~standard"].validate(args ?? {});
  return checked.issues ? null : { value: checked.value };
}

/** SDK's validateStandardSchema wording: "path: message", joined. */
function issuesText(issues: readonly { message: string; path?: readonly unknown[] }[]): string {
  return issues
    .map((issue) => {
      if (!issue.path?.length) return issue.message;
      const path = issue.path.map((p) => String(isObject(p) ? p.key : p)).join(".");
      return `${path}: ${issue.message}`;
    })
    .join(", ");
}

/** What McpServer's tools/call handler makes of a handler's result: the output schema checked, then projected. */
async function toolAnswer(
  entry: CatalogueEntry,
  result: CallToolResult | InputRequiredResult,
  modern: boolean,
): Promise<CallToolResult | InputRequiredResult> {
  if (isInputRequiredResult(result)) return result;
  const { outputSchema } = entry.tool;
  if (outputSchema && !result.isError) {
    const name = entry.tool.name;
    if (result.structuredContent === undefined)
      return toolError(
        `Output validation error: Tool ${name} has an output schema but no structured content was provided`,
      );
    const checked = await outputSchema["~standard"].validate(result.structuredContent);
    if (checked.issues?.length)
      return toolError(
        `Output validation error: Invalid structured content for tool ${name}: ${issuesText(checked.issues)}`,
      );
  }
  return projectedResult(result, modern, entry.outputSchemaJson);
}

export interface DirectCallDeps {
  catalogue: ToolCatalogue;
  serverInfo: Implementation;
  /** Whether the server declares logging (it does with upstreams): a 2025 caller then gets their log messages. */
  logging: boolean;
}

export interface DirectCall {
  request: Request;
  body: unknown;
  caller: Caller;
  authInfo: AuthInfo;
  requestId: string;
  /** The endpoint's headers for the answer (CORS, rate limit). */
  headers: AnswerHeaders;
}

/**
 * The answer to a plain tools/call, or null when it is not one (the SDK
 * answers it). Decided before the tool runs: once it runs, this path answers.
 */
export async function directToolCall(deps: DirectCallDeps, call: DirectCall): Promise<DirectAnswer | null> {
  const plain = plainCall(call.request, call.body);
  if (plain === null) return null;
  const entry = deps.catalogue.current.entries.get(plain.name);
  if (entry === undefined || entry.declaresHeaders || !mayCall(call.caller, entry.tool)) return null;
  const args = await validArguments(entry, plain.args);
  if (args === null) return null;
  const modern = plain.envelope !== undefined;
  const run = async (notify: Notify) => {
    const ctx = contextFor(plain, call, modern ? null : deps.logging ? notify : null);
    const message = await answerMessage(entry, args.value, ctx, plain, modern, deps.serverInfo);
    return messageWithRequestId(message, call.requestId);
  };
  // A round the caller cannot answer is the error the SDK's transport sends with 400.
  if (modern) return jsonAnswer(await run(() => {}), call.headers, 400);
  return sseAnswer(run, call.headers);
}

async function answerMessage(
  entry: CatalogueEntry,
  args: unknown,
  ctx: ServerContext,
  plain: PlainCall,
  modern: boolean,
  serverInfo: Implementation,
): Promise<JsonObject> {
  let result: CallToolResult | InputRequiredResult;
  try {
    result = await toolAnswer(entry, await entry.handler(args, ctx), modern);
  } catch (error) {
    result = toolError(error instanceof Error ? error.message : String(error));
  }
  if (!isInputRequiredResult(result))
    return { result: modern ? modernEncoded(result, serverInfo) : result, jsonrpc: "2.0", id: plain.id };
  const declared = plain.envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
  // Gatehouse's rounds are well formed and 2025 callers never get one (src/gateway/forward.ts); anything else is a bug.
  const refusal = modern && wellFormedRound(result) ? inputRoundRefusal(result, declared) : internalError;
  if (refusal === null) return { result: modernEncoded(result, serverInfo), jsonrpc: "2.0", id: plain.id };
  const { code, message, data } = refusal;
  return { jsonrpc: "2.0", id: plain.id, error: { code, message, ...(data !== undefined && { data }) } };
}

const internalError = { code: -32603, message: "Internal error", data: undefined };

/**
 * The ServerContext Gatehouse's tool handlers read (src/gateway/forward.ts,
 * forwarded-call.ts, openapi/call.ts, round-state.ts): the request's id,
 * method, signal and envelope, the caller's AuthInfo, and the log channel a
 * 2025 caller hears (a 2026-07-28 one without a log level hears nothing, as
 * the spec says; one with a level goes to the SDK).
 */
function contextFor(plain: PlainCall, call: DirectCall, notify: Notify | null): ServerContext {
  const log = async (level: string, data: unknown, logger?: string) => {
    notify?.({ jsonrpc: "2.0", method: "notifications/message", params: { level, data, logger } });
  };
  const mcpReq = {
    id: plain.id,
    method: "tools/call",
    _meta: undefined,
    signal: call.request.signal,
    envelope: plain.envelope,
    requestState: () => undefined,
    inputResponses: undefined,
    log,
    notify: async () => {},
  };
  return { mcpReq, http: { authInfo: call.authInfo } } as unknown as ServerContext;
}
