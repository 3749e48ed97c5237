import { DEFAULT_MAX_REQUEST_BODY_SIZE, isJsonContentType, readRequestBody } from "@modelcontextprotocol/server";

// The body of a POST to /mcp, read once, before the rate limit: a 2025-03-26
// batch counts per message (batch.ts), and the tool gate reads the calls. The
// same parse goes to the SDK as its pre-parsed body (createMcpHandler's
// `parsedBody`), which then neither clones the request nor reads it again.
// Bodies the SDK would refuse are refused as it would: it still sees the ones
// it can (wrong Content-Type, unparseable JSON), and the answers for bodies
// whose bytes are gone (too large, unreadable) are its own, word for word.

export type PostBody =
  /** Not a POST, or a Content-Type other than JSON (the SDK answers 415): the request goes to the SDK untouched. */
  | { kind: "unread" }
  | { kind: "json"; value: unknown }
  /** Empty or not JSON: the SDK gets the same bytes again and answers as it always did. */
  | { kind: "not-json"; text: string }
  | { kind: "refused"; status: number; code: number; message: string };

const unread: PostBody = { kind: "unread" };

type ReadText = { tooLarge: true } | { tooLarge: false; text: string };

/**
 * The body's text within the SDK's bound. A Content-Length within it bounds
 * the body too (HTTP/1.1 framing; Bun refuses a request that also sends
 * Transfer-Encoding), so that body is read natively, about 5 µs faster than
 * the SDK's bounded stream reader, which reads the others.
 */
async function readText(request: Request): Promise<ReadText> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) <= DEFAULT_MAX_REQUEST_BODY_SIZE)
    return { tooLarge: false, text: await request.text() };
  return readRequestBody(request, DEFAULT_MAX_REQUEST_BODY_SIZE);
}

export async function readPostBody(request: Request): Promise<PostBody> {
  if (request.method !== "POST" || !isJsonContentType(request.headers.get("content-type"))) return unread;
  let read: ReadText;
  try {
    read = await readText(request);
  } catch {
    return { kind: "refused", status: 400, code: -32700, message: "Parse error: the request body could not be read" };
  }
  if (read.tooLarge) {
    return {
      kind: "refused",
      status: 413,
      code: -32000,
      message: `Payload Too Large: Request body must not exceed ${DEFAULT_MAX_REQUEST_BODY_SIZE} bytes`,
    };
  }
  try {
    return { kind: "json", value: JSON.parse(read.text) };
  } catch {
    return { kind: "not-json", text: read.text };
  }
}

export function jsonOf(body: PostBody): unknown {
  return body.kind === "json" ? body.value : undefined;
}

/** What the SDK is handed: the request itself, or a copy carrying the bytes read from it when they did not parse. */
export function requestForSdk(request: Request, body: PostBody): Request {
  if (body.kind !== "not-json") return request;
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: body.text,
    signal: request.signal,
  });
}
