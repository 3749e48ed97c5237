import { isLoopbackHost, type Config } from "../config.ts";

// DNS-rebinding defence and CORS for /mcp (MCP transports spec: servers MUST
// validate Origin). Pure: values in, decisions out.

export interface RequestGuard {
  /** The public URL's hostname, e.g. `gatehouse.example.com` or `127.0.0.1`. */
  hostname: string;
  /** The public URL's host (with its port, if any): the Host header of nearly every request. */
  host: string;
  /** Any loopback name is accepted as Host when the public URL is loopback. */
  loopback: boolean;
  /** Browser origins allowed to call: the public URL's own plus GATEHOUSE_ALLOWED_ORIGINS. */
  origins: ReadonlySet<string>;
}

export function requestGuard(config: Pick<Config, "publicUrl" | "allowedOrigins">): RequestGuard {
  const url = new URL(config.publicUrl);
  return {
    hostname: url.hostname,
    host: url.host,
    loopback: isLoopbackHost(url.hostname),
    origins: new Set([url.origin, ...config.allowedOrigins]),
  };
}

/**
 * Host names this server (port aside): a rebinding page reaches us under
 * its own name, which fails here. Behind a proxy the Host must be the public
 * one (Caddy keeps it; nginx needs `proxy_set_header Host $host`).
 */
export function hostAllowed(guard: RequestGuard, host: string | null): boolean {
  if (!host) return false;
  // Nearly every request names the one public host: no URL to parse for it.
  if (host === guard.host) return true;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  return hostname === guard.hostname || (guard.loopback && isLoopbackHost(hostname));
}

/** No Origin is a non-browser client and fine; a present one must be listed exactly ("null" never is). */
export function originAllowed(guard: RequestGuard, origin: string | null): boolean {
  return origin === null || guard.origins.has(origin);
}

// Retry-After and the RateLimit fields too, so browser clients can pace themselves (rate-limit.ts).
const exposedHeaders =
  "www-authenticate, mcp-session-id, mcp-protocol-version, retry-after, ratelimit, ratelimit-policy, x-request-id";
const allowedMethods = "GET, POST, DELETE, OPTIONS";
const defaultAllowedHeaders =
  "authorization, content-type, accept, mcp-protocol-version, mcp-session-id, mcp-method, mcp-name, last-event-id";
const headerList = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/**
 * CORS for an allowed browser origin, on every /mcp answer including 401s,
 * so browser clients (the MCP Inspector) can read the challenge and the
 * session headers. Nothing for requests without an Origin.
 */
export function mcpCorsHeaders(origin: string | null): Record<string, string> {
  if (origin === null) return { vary: "origin" };
  return { vary: "origin", "access-control-allow-origin": origin, "access-control-expose-headers": exposedHeaders };
}

/** Preflight answer; requested headers are echoed (SEP-2243 `Mcp-Param-*` names vary per tool). */
export function mcpPreflightHeaders(origin: string, requestedHeaders: string | null): Record<string, string> {
  const headers =
    requestedHeaders && headerList.test(requestedHeaders.trim()) ? requestedHeaders.trim() : defaultAllowedHeaders;
  return {
    ...mcpCorsHeaders(origin),
    "access-control-allow-methods": allowedMethods,
    "access-control-allow-headers": headers,
    "access-control-max-age": "86400",
  };
}
