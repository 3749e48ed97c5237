// JSON-RPC batches (a JSON array body, JSON-RPC 2.0 §6) exist in MCP 2025-03-26
// only: 2025-06-18 removed them ("Remove support for JSON-RPC batching"; its
// transports spec: a POST body MUST be a single JSON-RPC message), and
// 2025-11-25 and 2026-07-28 have none. A request without MCP-Protocol-Version
// is taken as 2025-03-26, as the transports spec (Protocol Version Header)
// tells servers to assume. Pure: a parsed body and a header in, a verdict out.

export const batchingRevision = "2025-03-26";

/** JSON-RPC 2.0 §5.1 Invalid Request. */
export const invalidRequestCode = -32600;

/**
 * How many requests a POST body counts as against the rate limit: 1 for one
 * message, one per message for a batch served (an empty one still counts 1,
 * as any request does); or why the batch is refused before anything in it runs.
 */
export type BodyCount = { ok: true; messages: number } | { ok: false; message: string };

export function countMessages(body: unknown, protocolVersion: string | null): BodyCount {
  if (!Array.isArray(body)) return { ok: true, messages: 1 };
  if (protocolVersion !== null && protocolVersion !== batchingRevision) {
    return {
      ok: false,
      message: `Invalid Request: JSON-RPC batches exist only in MCP protocol ${batchingRevision}, and this request names ${protocolVersion}. Send one message per POST.`,
    };
  }
  return { ok: true, messages: Math.max(1, body.length) };
}
