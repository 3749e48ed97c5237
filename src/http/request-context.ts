import type { Server } from "bun";
import { Elysia } from "elysia";
import { withAuditContext, type AuditLog } from "../audit/entry.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../ops/metrics.ts";
import { randomString } from "../security/tokens.ts";
import { MessagePage } from "../../views/message.tsx";
import { isUnavailable, unavailableRetryAfterSeconds } from "./unavailable.ts";

/** What the request context needs of the app's dependencies. */
export interface RequestContextDeps {
  config: { trustProxy: boolean };
  audit: AuditLog;
  log: Logger;
  metrics: Pick<Metrics, "request">;
}

/** The client's address: the last X-Forwarded-For entry behind a trusted proxy, else the socket's. */
export function clientAddress(
  config: { trustProxy: boolean },
  request: Request,
  server: Server<unknown> | null,
): string {
  if (config.trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  return server?.requestIP(request)?.address ?? "unknown";
}

/**
 * The status Elysia sent: a returned Response's own status (a redirect) wins
 * unless it is 200, as with pages the html plugin wraps; then `set.status` does.
 */
function sentStatus(setStatus: number | string | undefined, value: unknown): number {
  if (value instanceof Response && value.status !== 200) return value.status;
  return Number(setStatus ?? 200);
}

/** Who sent a request: its X-Request-Id and the client address, worked out on first read. */
export interface RequestOrigin {
  requestId: string;
  readonly ip: string;
}

/**
 * What every route knows of its request: `requestId` (the X-Request-Id
 * answered, a caller's own when short and plain), `origin` (that id and the
 * client address), and `audit`, the audit log with both already on every
 * entry. A route that needs the address itself declares `{ clientIp: true }`.
 * The address is worked out only when read, once: most requests (a tool call
 * refused, /healthz) never need it. Also the one request log line and the
 * error pages, which name the same id.
 *
 * Create it once per app (createApp) and `.use` that one instance in every
 * route module: its derive is global, so Elysia runs it once per request
 * whichever module the route is in, and the id map is this instance's.
 */
export function requestContext(deps: RequestContextDeps) {
  const started = new WeakMap<Request, { id: string; at: number; ip?: string }>();
  // A request id names a request in the log, the audit log and error pages;
  // it guards nothing and is no secret, so it need only be unique: a random
  // prefix per app (apart across restarts and instances) and a counter,
  // rather than fresh random bytes for every request. The counter shows how
  // many requests this process answered, which is not worth hiding.
  const idPrefix = `${randomString(5)}-`;
  let served = 0;
  const idOf = (request: Request) => started.get(request)?.id ?? "";
  const ipOf = (request: Request, server: Server<unknown> | null) => {
    const start = started.get(request);
    if (start === undefined) return clientAddress(deps.config, request, server);
    start.ip ??= clientAddress(deps.config, request, server);
    return start.ip;
  };

  return new Elysia({ name: "gatehouse/request-context" })
    .onRequest(({ request, set }) => {
      // Accept a caller's request id only when it is short and plain.
      const incoming = request.headers.get("x-request-id");
      const id = incoming && /^[\w.-]{1,64}$/.test(incoming) ? incoming : idPrefix + (served++).toString(36);
      started.set(request, { id, at: performance.now() });
      set.headers["x-request-id"] = id;
    })
    .derive({ as: "global" }, ({ request, server }) => {
      const requestId = idOf(request);
      const origin: RequestOrigin = {
        requestId,
        get ip() {
          return ipOf(request, server);
        },
      };
      return { requestId, origin, audit: withAuditContext(deps.audit, origin) };
    })
    .macro({
      clientIp: {
        resolve: ({ request, server }) => ({ clientIp: ipOf(request, server) }),
      },
    })
    .onAfterResponse({ as: "global" }, ({ request, route, set, responseValue }) => {
      const start = started.get(request);
      const status = sentStatus(set.status, responseValue);
      const durationMs = start ? performance.now() - start.at : null;
      if (durationMs !== null) deps.metrics.request(route, request.method, status, durationMs / 1000);
      deps.log.info("request", {
        method: request.method,
        path: pathOf(request.url),
        status,
        duration_ms: durationMs === null ? null : Math.round(durationMs * 100) / 100,
        request_id: start?.id,
      });
    })
    .onError({ as: "global" }, ({ code, error, request, set }) => {
      if (code === "NOT_FOUND") {
        set.status = 404;
        return MessagePage({
          title: "Not found",
          message: "There is no page at this address.",
          link: { href: "/", label: "Home" },
        });
      }
      if (code === "PARSE" || code === "VALIDATION") {
        set.status = 400;
        return MessagePage({
          title: "Bad request",
          message: "The request could not be read.",
          requestId: idOf(request),
        });
      }
      const unavailable = isUnavailable(error);
      const requestId = idOf(request);
      const path = pathOf(request.url);
      deps.log.error(unavailable ? "store unavailable" : "unhandled error", {
        request_id: requestId,
        path,
        error: describe(error),
      });
      const failure: { status: number; title: string; message: string; headers: Record<string, string> } = unavailable
        ? {
            status: 503,
            title: "Temporarily unavailable",
            message: "Gatehouse cannot reach its database or rate limit store just now. Try again in a few seconds.",
            headers: { "retry-after": String(unavailableRetryAfterSeconds) },
          }
        : {
            status: 500,
            title: "Something went wrong",
            message: "Gatehouse hit an unexpected error. The request id is in the server log.",
            headers: {},
          };
      // MCP clients parse JSON-RPC, never a page (JSON-RPC 2.0 §5.1: -32603 internal error).
      if (path === "/mcp")
        return Response.json(
          {
            jsonrpc: "2.0",
            error: { code: -32603, message: failure.message, data: { request_id: requestId } },
            id: null,
          },
          { status: failure.status, headers: { "cache-control": "no-store", ...failure.headers } },
        );
      set.status = failure.status;
      Object.assign(set.headers, failure.headers);
      return MessagePage({ title: failure.title, message: failure.message, requestId });
    });
}

export type RequestContext = ReturnType<typeof requestContext>;

/** An error for the log line: its name and message, and those of what it wraps (a driver's error under Drizzle's). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const own = `${error.name}: ${error.message}`;
  return error.cause === undefined ? own : `${own} (cause: ${describe(error.cause)})`;
}

/** A request URL's path (Request.url is always absolute): for the log line, without parsing a URL per request. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  return url.slice(start, query === -1 ? undefined : query);
}
