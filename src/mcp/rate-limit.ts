import { createRateLimiter, type Taken } from "../security/rate-limit.ts";
import type { Caller } from "./caller.ts";

// Requests a minute per credential on /mcp (GATEHOUSE_RATE_LIMIT_PER_MINUTE),
// counted in memory after the bearer check: never a database write, one Map
// lookup a request. Refusals before it (Host, Origin, 401) are not counted, so
// nobody can spend or probe another key's quota (ratelimit draft §8.2).
//
// The key is the credential a user manages: an API key, or a connection (the
// OAuth grant). Not the access token: a client refreshing every few minutes, or
// two refreshing at once, would then get a fresh quota with each new token.
//
// Headers: draft-ietf-httpapi-ratelimit-headers-11 (May 2026), "RateLimit header
// fields for HTTP": `RateLimit-Policy: "default";q=100;w=60` (§3) and
// `RateLimit: "default";r=<left>;t=<seconds to window end>` (§4), on every
// counted answer so clients can pace themselves; a 429 adds Retry-After
// (RFC 9110 §10.2.3), equal to t as §6 asks.

/** JSON-RPC server-defined error (-32000..-32099), unused by MCP and its SDK; "29" for HTTP 429. */
export const rateLimitedCode = -32029;

const windowSeconds = 60;
const policyName = '"default"';

export interface McpRateLimit {
  /** Counts one request by `caller`; the verdict and the headers for the answer. */
  take(caller: Caller): RateVerdict;
}

export interface RateVerdict {
  allowed: boolean;
  /** Seconds until the window ends: Retry-After when refused. */
  resetSeconds: number;
  /** RateLimit-Policy and RateLimit, for whatever answer the request gets. */
  headers: Record<string, string>;
}

export function createMcpRateLimit(opts: { limitPerMinute: number; now: () => number }): McpRateLimit {
  const limiter = createRateLimiter({ limit: opts.limitPerMinute, windowSeconds, now: opts.now });
  const policy = `${policyName};q=${opts.limitPerMinute};w=${windowSeconds}`;
  return {
    take(caller) {
      const taken: Taken = limiter.take(rateLimitKey(caller));
      return {
        allowed: taken.allowed,
        resetSeconds: taken.resetSeconds,
        headers: { "ratelimit-policy": policy, ratelimit: `${policyName};r=${taken.remaining};t=${taken.resetSeconds}` },
      };
    },
  };
}

/** One quota per API key and per connection, whichever token the connection holds now. */
export function rateLimitKey(caller: Caller): string {
  return `${caller.via.kind}:${caller.via.id}`;
}

/** A JSON-RPC id as sent, or null (MCP: the error answers that request; null when it could not be read). */
export function jsonRpcIdOf(body: unknown): string | number | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  const id = (body as { id?: unknown }).id;
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null;
}

/**
 * The 429: a JSON-RPC error (what MCP clients parse) whose data carries
 * retry_after_seconds and the request_id of the X-Request-Id header, as
 * TokPortal-style clients expect, with Retry-After and the RateLimit fields.
 */
export function rateLimitedResponse(
  verdict: RateVerdict,
  rpcId: string | number | null,
  requestId: string,
  headers: Record<string, string>,
): Response {
  const seconds = verdict.resetSeconds;
  const body = {
    jsonrpc: "2.0",
    id: rpcId,
    error: {
      code: rateLimitedCode,
      message: `Rate limit exceeded: try again in ${seconds} s.`,
      data: { retry_after_seconds: seconds, request_id: requestId },
    },
  };
  return Response.json(body, {
    status: 429,
    headers: { "cache-control": "no-store", "retry-after": String(seconds), ...headers, ...verdict.headers },
  });
}
