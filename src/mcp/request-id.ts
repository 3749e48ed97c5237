import { McpServer, type Transport } from "@modelcontextprotocol/server";
import { isObject, type JsonObject } from "../json-object.ts";

// Every error answered on /mcp names the request's X-Request-Id (src/http/request-context.ts), so
// a person can quote it and an operator find the request line, the audit
// entry and the server log: TokPortal-style structured errors.
//
// - A JSON-RPC error carries it as `error.data.request_id`: the refusals the
//   endpoint writes itself (endpoint.ts, rate-limit.ts,
//   permission-denied.ts), the SDK's own HTTP refusals (400, 405, 406, 415:
//   errorResponseWithRequestId) and the errors a server instance sends in a
//   200 answer (unknown method or tool, bad params, an upstream's refusal:
//   RequestIdMcpServer).
// - A tool that failed (`isError: true`, from an upstream, from Gatehouse
//   forwarding it, or the SDK refusing its arguments) is a result, not an
//   error, so it carries it in the result's `_meta`, under a name that follows
//   MCP's _meta key rule (basic/index, "_meta": a prefix of dot-separated
//   labels and a slash, then a name). Gatehouse owns no domain to reverse, so
//   the prefix is its own name.

export const requestIdMetaKey = "gatehouse/request_id";

/**
 * `data` with request_id added. JSON-RPC lets data be any value (JSON-RPC 2.0
 * §5.1); one that is not an object (an upstream's string, say) is kept
 * whole, as `detail`, beside it.
 */
export function dataWithRequestId(data: unknown, requestId: string): JsonObject {
  if (data === undefined) return { request_id: requestId };
  return isObject(data) ? { ...data, request_id: requestId } : { detail: data, request_id: requestId };
}

/** JSON-RPC 2.0 §5.1 Invalid params. */
const invalidParamsCode = -32602;

/**
 * A resource-not-found error as 2025-era revisions encode it: -32602 with
 * data exactly `{uri}`. Clients tell it from other bad params by that one
 * member (SDK v2's ProtocolError.fromError counts the keys), so it keeps its
 * data as it is; the X-Request-Id header still names the request.
 */
function isLegacyResourceNotFound(error: JsonObject): boolean {
  return (
    error.code === invalidParamsCode &&
    isObject(error.data) &&
    Object.keys(error.data).length === 1 &&
    typeof error.data.uri === "string"
  );
}

/**
 * One outgoing JSON-RPC message with the request id added where it belongs:
 * an error response's data, or a failed tool result's _meta. Every other
 * message is returned as it is, unchanged and uncopied.
 */
export function messageWithRequestId<T>(message: T, requestId: string): T {
  if (!isObject(message)) return message;
  const { error, result } = message;
  if (isObject(error) && isLegacyResourceNotFound(error)) return message;
  if (isObject(error)) return { ...message, error: { ...error, data: dataWithRequestId(error.data, requestId) } };
  if (isObject(result) && result.isError === true) {
    const meta = isObject(result._meta) ? result._meta : {};
    return { ...message, result: { ...result, _meta: { ...meta, [requestIdMetaKey]: requestId } } };
  }
  return message;
}

/**
 * A server instance whose error answers carry the request id. The SDK
 * connects each instance to its exchange's transport (createMcpHandler's
 * per-request serving); the instance's own `send` on it is wrapped, so every
 * message the instance answers with passes through messageWithRequestId.
 */
export class RequestIdMcpServer extends McpServer {
  readonly #requestId: string;

  constructor(requestId: string, ...args: ConstructorParameters<typeof McpServer>) {
    super(...args);
    this.#requestId = requestId;
  }

  override connect(transport: Transport): Promise<void> {
    const send = transport.send.bind(transport);
    const requestId = this.#requestId;
    transport.send = (message, options) => send(messageWithRequestId(message, requestId), options);
    return super.connect(transport);
  }
}

/**
 * An HTTP refusal the SDK wrote itself (a status of 400 or more with a
 * JSON-RPC error body, or a batch of them), with the request id added; any
 * other answer unchanged. Only refusals are read again, so a successful
 * exchange costs one status check.
 */
export async function errorResponseWithRequestId(response: Response, requestId: string): Promise<Response> {
  if (response.status < 400 || !(response.headers.get("content-type") ?? "").includes("application/json"))
    return response;
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    return response;
  }
  const stamped = Array.isArray(body)
    ? body.map((m) => messageWithRequestId(m, requestId))
    : messageWithRequestId(body, requestId);
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify(stamped), { status: response.status, statusText: response.statusText, headers });
}
