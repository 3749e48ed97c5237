import { andThen, type Maybe } from "../db/execute-now.ts";
import { createRateLimiter, type RateCounters, type Taken } from "../security/rate-limit.ts";
import type { Caller } from "./caller.ts";

// Requests a minute per credential on /mcp (GATEHOUSE_RATE_LIMIT_PER_MINUTE),
// counted after the bearer check, one take a request: in memory on SQLite (one
// Map lookup, answered at once), else where every instance counts
// (src/security/rate-counters.ts). Refusals before it (Host, Origin, 401) are not counted, so
// nobody can spend or probe another key's quota (ratelimit draft §8.2).
//
// The key is the credential a user manages: an API key, or a connection (the
// OAuth authorization). Not the access token: a client refreshing every few minutes, or
// two refreshing at once, would then get a fresh quota with each new token.
//
// Headers: draft-ietf-httpapi-ratelimit-headers-11 (May 2026), "RateLimit header
// fields for HTTP": `RateLimit-Policy: "default";q=100;w=60` (§3) and
// `RateLimit: "default";r=<left>;t=<seconds to window end>` (§4), on every
// counted answer so clients can pace themselves; a 429 adds Retry-After
// (RFC 9110 §10.2.3), equal to t as §6 asks.
//
// A 2025-03-26 batch counts one request per message in it, all or none: a
// batch that does not fit in what is left is refused whole, so batching
// cannot run more calls a minute than sending them one by one.

/** JSON-RPC server-defined error (-32000..-32099), unused by MCP and its SDK; "29" for HTTP 429. */
export const rateLimitedCode = -32029;

const windowSeconds = 60;
const policyName = '"default"';

export interface McpRateLimit {
  /**
   * Counts `messages` requests (default 1; a batch's length) by `caller`; the verdict and the headers
   * for the answer, at once when the counter store answers at once (memory).
   */
  take(caller: Caller, messages?: number): Maybe<RateVerdict>;
}

export interface RateVerdict {
  allowed: boolean;
  /** Requests this answer asked to count: more than 1 for a batch. */
  messages: number;
  /** Requests left in the window (after these when allowed). */
  remaining: number;
  /** Seconds until the window ends: Retry-After when refused. */
  resetSeconds: number;
  /** RateLimit-Policy and RateLimit, for whatever answer the request gets. */
  headers: Record<string, string>;
}

export function createMcpRateLimit(opts: {
  limitPerMinute: number;
  now: () => number;
  counters: RateCounters;
}): McpRateLimit {
  const limiter = createRateLimiter({
    limit: opts.limitPerMinute,
    windowSeconds,
    now: opts.now,
    counters: opts.counters,
    prefix: "mcp",
  });
  const policy = `${policyName};q=${opts.limitPerMinute};w=${windowSeconds}`;
  const verdictOf = (taken: Taken, messages: number): RateVerdict => ({
    allowed: taken.allowed,
    messages,
    remaining: taken.remaining,
    resetSeconds: taken.resetSeconds,
    headers: {
      "ratelimit-policy": policy,
      ratelimit: `${policyName};r=${taken.remaining};t=${taken.resetSeconds}`,
    },
  });
  return {
    take(caller, messages = 1) {
      return andThen(limiter.take(rateLimitKey(caller), messages), (taken) => verdictOf(taken, messages));
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

/** Why, and when to try again; for a batch, that it counts as its length and how much is left. */
function rateLimitedMessage(verdict: RateVerdict): string {
  const retry = `try again in ${verdict.resetSeconds} s.`;
  if (verdict.messages === 1) return `Rate limit exceeded: ${retry}`;
  return `Rate limit exceeded: this batch of ${verdict.messages} messages counts as ${verdict.messages} requests, and ${verdict.remaining} are left in this window; nothing in it was run. Send fewer, or ${retry}`;
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
      message: rateLimitedMessage(verdict),
      data: { retry_after_seconds: seconds, request_id: requestId },
    },
  };
  return Response.json(body, {
    status: 429,
    headers: { "cache-control": "no-store", "retry-after": String(seconds), ...headers, ...verdict.headers },
  });
}
