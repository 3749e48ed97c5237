import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  classifyInboundRequest,
  PROTOCOL_VERSION_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/server";
import { isObject, type JsonObject } from "../json-object.ts";

// What the direct answers (direct-call.ts, tools-list-cache.ts) share: which
// requests they may take from the SDK, and the framing the SDK would give
// the answer. A request is taken only when nothing in it could make the SDK
// answer differently from a plain one; anything else, odd or wrong, goes to
// the SDK, which words every refusal itself.

const modernRevision = "2026-07-28";
const legacyRevisions = new Set(SUPPORTED_PROTOCOL_VERSIONS);
const envelopeKeys = new Set([PROTOCOL_VERSION_META_KEY, CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY]);

export interface PlainRequest {
  id: string | number;
  /** The revision the request is served in: its MCP-Protocol-Version, or "" for a 2025 request without one. */
  revision: string;
  /** The 2026-07-28 envelope; undefined for a 2025 caller. */
  envelope: JsonObject | undefined;
}

const keysWithin = (value: JsonObject, allowed: Set<string>) => Object.keys(value).every((k) => allowed.has(k));

/**
 * A single JSON-RPC request for `method` with params among `allowed`, in a
 * revision the SDK serves, whose _meta is the bare 2026-07-28 envelope (valid,
 * by the SDK's own exported classifier) or nothing, and whose standard headers
 * name exactly it (`name`: the Mcp-Name it must carry); else null.
 */
export function plainRequest(
  request: Request,
  body: unknown,
  method: string,
  allowed: Set<string>,
  name?: string,
): PlainRequest | null {
  if (!isObject(body) || body.method !== method || body.jsonrpc !== "2.0") return null;
  const { id, params } = body;
  if ((typeof id !== "string" && typeof id !== "number") || !isObject(params) || !keysWithin(params, allowed))
    return null;
  const { headers } = request;
  const accept = headers.get("accept") ?? "";
  if (!accept.includes("application/json") || accept.includes("q=0")) return null;
  const { _meta } = params;
  const version = headers.get("mcp-protocol-version");
  const mcpMethod = headers.get("mcp-method");
  const mcpName = headers.get("mcp-name");
  if (_meta === undefined || (isObject(_meta) && Object.keys(_meta).length === 0)) {
    // A 2025 revision, served statelessly: the SDK's transport wants both media types and a known revision.
    if (!accept.includes("text/event-stream") || (version !== null && !legacyRevisions.has(version))) return null;
    if (mcpMethod !== null || mcpName !== null || routeOf(method, name, version, null) !== "legacy") return null;
    return { id, revision: version ?? "", envelope: undefined };
  }
  if (!isObject(_meta) || !keysWithin(_meta, envelopeKeys)) return null;
  if (version !== modernRevision || mcpMethod !== method || mcpName !== (name ?? null)) return null;
  if (routeOf(method, name, version, _meta) !== "modern") return null;
  return { id, revision: modernRevision, envelope: _meta };
}

/**
 * How the SDK's own classifier routes a request of this shape: "modern" for a
 * valid 2026-07-28 envelope, "legacy" for none, else "other". Remembered per
 * distinct shape (a client sends the same envelope every time), since
 * checking an envelope costs about 8 µs and this runs on every call.
 */
const routes = new Map<string, "modern" | "legacy" | "other">();
const maxRoutes = 1024;

function routeOf(method: string, name: string | undefined, version: string | null, envelope: JsonObject | null) {
  const key = JSON.stringify([method, name !== undefined, version, envelope]);
  let route = routes.get(key);
  if (route === undefined) {
    const params = { ...(name !== undefined && { name }), ...(envelope && { _meta: envelope }) };
    const outcome = classifyInboundRequest({
      httpMethod: "POST",
      body: { jsonrpc: "2.0", id: 0, method, params },
      ...(version !== null && { protocolVersionHeader: version }),
      ...(envelope && { mcpMethodHeader: method }),
      ...(envelope && name !== undefined && { mcpNameHeader: name }),
    });
    route =
      outcome.kind === "legacy"
        ? "legacy"
        : outcome.kind === "modern" && outcome.classification.revision === modernRevision
          ? "modern"
          : "other";
    if (routes.size >= maxRoutes) routes.clear();
    routes.set(key, route);
  }
  return route;
}

/** Headers of the endpoint's own (CORS, rate limit) that go with an answer beside its framing. */
export type AnswerHeaders = Record<string, string>;

/**
 * A direct answer whose body is all there: the route hands Elysia its status,
 * headers and text (set.status, set.headers, the return value), which makes
 * the one Response; a Response of ours would be copied again by Elysia to add
 * the headers every route gets. A streamed answer is a Response.
 */
export interface TextAnswer {
  status: number;
  headers: AnswerHeaders;
  body: string;
}

export type DirectAnswer = TextAnswer | Response;

/** The SDK's 2026-07-28 answer: one JSON body; an error one with `errorStatus`. */
export function jsonAnswer(message: JsonObject | string, headers: AnswerHeaders, errorStatus = 200): TextAnswer {
  const body = typeof message === "string" ? message : JSON.stringify(message);
  const status = typeof message !== "string" && "error" in message ? errorStatus : 200;
  return { status, headers: { "content-type": "application/json", ...headers }, body };
}

/** A 2025 answer of one SSE event, as the SDK's stateless transport sends it. */
export function sseText(message: JsonObject | string, headers: AnswerHeaders): TextAnswer {
  return { status: 200, headers: { ...sseHeaders, ...headers }, body: sseEvent(message) };
}

export const sseHeaders = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

export const sseEvent = (message: JsonObject | string) =>
  `event: message\ndata: ${typeof message === "string" ? message : JSON.stringify(message)}\n\n`;

export type Notify = (message: JsonObject) => void;

const encoder = new TextEncoder();

/**
 * A 2025 answer as the SDK's stateless transport frames it: SSE. One event
 * when the result comes first (a string body, no stream); a stream, opened at
 * the first message sent before it, when something comes earlier.
 */
export function sseAnswer(
  run: (notify: Notify) => Promise<JsonObject | string>,
  answerHeaders: AnswerHeaders,
): Promise<DirectAnswer> {
  const headers = { ...sseHeaders, ...answerHeaders };
  return new Promise((resolve, reject) => {
    let stream: ReadableStreamDefaultController<Uint8Array> | null = null;
    let done = false;
    const notify: Notify = (message) => {
      if (done) return;
      const bytes = encoder.encode(sseEvent(message));
      if (stream) return stream.enqueue(bytes);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          stream = controller;
          controller.enqueue(bytes);
        },
      });
      resolve(new Response(body, { headers }));
    };
    run(notify).then(
      (message) => {
        done = true;
        if (stream === null) return resolve(sseText(message, answerHeaders));
        stream.enqueue(encoder.encode(sseEvent(message)));
        stream.close();
      },
      (error) => {
        done = true;
        if (stream === null) reject(error);
        else stream.error(error);
      },
    );
  });
}
