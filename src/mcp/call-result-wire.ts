import {
  isInputRequiredResult,
  MissingRequiredClientCapabilityError,
  SERVER_INFO_META_KEY,
  Server,
  type CallToolResult,
  type ClientCapabilities,
  type Implementation,
  type InputRequiredResult,
} from "@modelcontextprotocol/server";
import { isObject, type JsonObject } from "../json-object.ts";

// What the SDK's McpServer and Server do to a tools/call result on its way
// to the wire, for the direct path (direct-call.ts), per protocol era. Each
// step names the SDK code it matches (SDK v2 2.4.0); test/mcp/direct-call
// sends every call both ways and compares the bytes, so a change in a new SDK
// release shows up there.
//
// 1. A completed result is projected for the era (McpServer's tools/call
//    handler: `Server.projectCallToolResult`). The 2025 projection is the
//    SDK's own, exported on `Server` (an unconnected one speaks 2025); the
//    2026-07-28 one is not exported, and is only SEP-2106's text fallback.
// 2. A result without content gets `content: []` (Server's tools/call wrap).
// 3. 2026-07-28 only: `resultType` stamped when absent, and the server's
//    identity in `_meta` unless the result names one (the 2026 codec's
//    encodeResult; tools/call results are never cache-stamped).
// An input-required result is checked instead (Server's multi-round-trip
// seam): each request it embeds needs a capability the caller declared,
// else the call fails with -32021.

const legacyCodec = new Server({ name: "gatehouse-projection", version: "0" });

/** SEP-2106 §4.3: a structured value that is not an object gets its JSON as text, unless the result has text. */
function withTextFallback(result: CallToolResult): CallToolResult {
  const value = result.structuredContent;
  if (value === undefined || isObject(value)) return result;
  if (result.content?.some((c) => c.type === "text")) return result;
  return { ...result, content: [...(result.content ?? []), { type: "text", text: JSON.stringify(value) }] };
}

export function projectedResult(
  result: CallToolResult,
  modern: boolean,
  outputSchema: JsonObject | undefined,
): CallToolResult {
  const projected = modern ? withTextFallback(result) : legacyCodec.projectCallToolResult(result, outputSchema);
  return projected.content === undefined ? { ...projected, content: [] } : projected;
}

/** The 2026-07-28 encoding of a tools/call result: its resultType, and who answered. */
export function modernEncoded(result: JsonObject, serverInfo: Implementation): JsonObject {
  const typed = result.resultType === undefined ? { ...result, resultType: "complete" } : result;
  const meta = typed._meta;
  if (meta === undefined) return { ...typed, _meta: { [SERVER_INFO_META_KEY]: serverInfo } };
  if (!isObject(meta) || meta[SERVER_INFO_META_KEY] !== undefined) return typed;
  return { ...typed, _meta: { ...meta, [SERVER_INFO_META_KEY]: serverInfo } };
}

/** The capability an embedded input request needs of the client (MCP 2026-07-28, input-required results). */
function requiredFor(request: { method?: unknown; params?: JsonObject }): ClientCapabilities | null {
  switch (request.method) {
    case "elicitation/create":
      return request.params?.mode === "url" ? { elicitation: { url: {} } } : { elicitation: { form: {} } };
    case "sampling/createMessage":
      return request.params?.tools !== undefined || request.params?.toolChoice !== undefined
        ? { sampling: { tools: {} } }
        : { sampling: {} };
    case "roots/list":
      return { roots: {} };
    default:
      return null;
  }
}

/** What of `required` the caller did not declare; an elicitation declared without modes means form. */
function missingOf(required: ClientCapabilities, declared: ClientCapabilities | undefined): ClientCapabilities | null {
  const missing: JsonObject = {};
  for (const [name, need] of Object.entries(required as JsonObject)) {
    const have = (declared as JsonObject | undefined)?.[name];
    if (have === undefined) {
      missing[name] = need;
      continue;
    }
    if (!isObject(need) || !isObject(have)) continue;
    const members: JsonObject = {};
    for (const member of Object.keys(need)) {
      const implied = name === "elicitation" && member === "form" && have.form === undefined && have.url === undefined;
      if (have[member] === undefined && !implied) members[member] = need[member];
    }
    if (Object.keys(members).length > 0) missing[name] = members;
  }
  return Object.keys(missing).length > 0 ? (missing as ClientCapabilities) : null;
}

/**
 * Why an input-required result cannot go to this caller, as the error the
 * SDK would answer with; null when it can. A round Gatehouse could not have
 * built (no requests and no state, an unknown request) is left to the SDK's
 * wording: the direct path never produces one (direct-call.ts checks first).
 */
export function inputRoundRefusal(
  round: InputRequiredResult,
  declared: ClientCapabilities | undefined,
): MissingRequiredClientCapabilityError | null {
  for (const [key, request] of Object.entries(round.inputRequests ?? {})) {
    const required = requiredFor(request as { method?: unknown; params?: JsonObject });
    const missing = required && missingOf(required, declared);
    if (missing)
      return new MissingRequiredClientCapabilityError(
        { requiredCapabilities: missing },
        `Cannot request input '${key}' (${String(request.method)}): the request's client capabilities do not declare the required capability`,
      );
  }
  return null;
}

/** Whether the SDK would take this input-required result as it is (the at-least-one rule, known requests). */
export function wellFormedRound(round: InputRequiredResult): boolean {
  const requests = Object.values(round.inputRequests ?? {});
  if (requests.length === 0 && typeof round.requestState !== "string") return false;
  return requests.every((r) => requiredFor(r as { method?: unknown }) !== null);
}

export { isInputRequiredResult };
