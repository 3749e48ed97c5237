import { Elysia } from "elysia";
import type { AuditLog } from "../../audit/entry.ts";
import type { AppDeps } from "../../http/deps.ts";
import type { RequestContext, RequestOrigin } from "../../http/request-context.ts";
import { isUnavailable, unavailableRetryAfterSeconds } from "../../http/unavailable.ts";
import type { Logger } from "../../log.ts";
import { authenticateClient, clientAuthChallenge, presentsClient } from "../client-auth.ts";
import type { OAuthClient } from "../clients-store.ts";
import { OAuthError, oauthErrorResponse } from "../errors.ts";
import { readBodyParams, uniqueParams } from "../params.ts";

// The steps every OAuth protocol endpoint (token, revocation, introspection,
// registration, device authorization, bridge poll) shares, declared once, as
// panva's node-oidc-provider lists them per action: the CORS preflight, the
// body, client authentication, and the one mapping of a throw to an RFC 6749
// §5.2 answer with its challenge. Each endpoint file keeps only its own rules.

/**
 * CORS for endpoints that browser-based clients (the MCP Inspector) call
 * without cookies: discovery, registration, token, revocation.
 */
export const corsHeaders = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-allow-headers": "authorization, content-type, mcp-protocol-version",
  "access-control-max-age": "86400",
} as const;

/** The answer to a CORS preflight. */
export const preflight = () => new Response(null, { status: 204, headers: corsHeaders });

export type EndpointDeps = Pick<AppDeps, "db" | "log" | "now" | "config">;

/** A JSON answer that no cache may keep (RFC 6749 §5.1). */
export function noStoreJson(body: unknown, headers: Record<string, string> = {}): Response {
  return Response.json(body, { headers: { "cache-control": "no-store", pragma: "no-cache", ...headers } });
}

/**
 * The RFC 6749 §5.2 error for `error`. Anything that is not an OAuthError is
 * logged here with the request id: a shared store out of reach is answered
 * temporarily_unavailable (503), anything else is a bug, a bare server_error.
 */
export function oauthFailure(
  log: Logger,
  request: Request,
  requestId: string,
  error: unknown,
  headers: Record<string, string> = {},
): Response {
  if (error instanceof OAuthError) return oauthErrorResponse(error, headers);
  const unavailable = isUnavailable(error);
  log.error(unavailable ? "store unavailable" : "unhandled error", {
    request_id: requestId,
    path: new URL(request.url).pathname,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
  if (!unavailable) return oauthErrorResponse(error, headers);
  // RFC 6749 §4.1.2.1's code for a server that cannot serve now; 503 and Retry-After as for any endpoint.
  const description = "The server cannot reach its database or rate limit store just now; try again in a few seconds.";
  return oauthErrorResponse(new OAuthError("temporarily_unavailable", description, 503), {
    ...headers,
    "retry-after": String(unavailableRetryAfterSeconds),
  });
}

/** Who the endpoint serves, checked before its handler runs, and the challenge a failed check answers with. */
export interface CallerCheck<T> {
  authenticate(request: Request, params: Map<string, string>): T | Promise<T>;
  challenge(request: Request, error: unknown): Record<string, string>;
}

/**
 * Client authentication (RFC 6749 §2.3, client-auth.ts): `required`;
 * `when-named`, only when the request names a client (RFC 7009 §2.1 lets a
 * public client's token be revoked by possession); `none`; or an endpoint's
 * own check (introspection also takes an admin's API key).
 */
type ClientRule = "required" | "when-named" | "none" | CallerCheck<unknown>;

type CallerOf<A extends ClientRule> = A extends "required"
  ? OAuthClient
  : A extends "when-named"
    ? OAuthClient | null
    : A extends CallerCheck<infer T>
      ? T
      : null;

export interface EndpointOptions<A extends ClientRule> {
  /**
   * Where the parameters come from: a form body (RFC 6749 §4.1.3), a form or
   * JSON body, or nowhere (the handler reads a body of its own, RFC 7591's JSON).
   * Either way a parameter sent twice is invalid_request (params.ts).
   */
  body: "form" | "form-or-json" | "none";
  clientAuth: A;
  /**
   * A known client keeps its last good metadata document when a refetch
   * fails (clients.ts): for requests about authorizations that exist already.
   */
  useLastGoodCopy?: boolean;
  /** Every answer, errors included, carries CORS headers, and OPTIONS answers the preflight. */
  cors: boolean;
  /** GET answers too, the query being the parameters (the bridge poll, as plugins call it). */
  queryOnGet?: boolean;
}

export interface EndpointRequest<C> {
  request: Request;
  params: Map<string, string>;
  /** The authenticated caller, per the endpoint's `clientAuth`. */
  client: C;
  /** The client's address (the request context, src/http/request-context.ts), worked out when read. */
  readonly clientIp: string;
  /** The audit log, with the request's id and client address. */
  audit: AuditLog;
}

/** What the request context (src/http/request-context.ts) derived for this request. */
type Context = { request: Request; requestId: string; origin: RequestOrigin; audit: AuditLog };

/**
 * An OAuth endpoint at `path`: POST (and GET with `queryOnGet`) reads the
 * parameters, authenticates the caller, runs `handler`, and answers any throw
 * as RFC 6749 §5.2 JSON (never cached), with `WWW-Authenticate` when the
 * client failed to authenticate by the Authorization header.
 */
export function oauthEndpoint<A extends ClientRule>(
  deps: EndpointDeps,
  context: RequestContext,
  path: string,
  options: EndpointOptions<A>,
  handler: (request: EndpointRequest<CallerOf<A>>) => Response | Promise<Response>,
) {
  const clientDeps = {
    db: deps.db,
    now: deps.now,
    publicUrl: deps.config.publicUrl,
    log: deps.log,
    ...(options.useLastGoodCopy && { useLastGoodCopy: true }),
  };
  const cors: Record<string, string> = options.cors ? corsHeaders : {};
  const rule: ClientRule = options.clientAuth;

  const callerOf = async (request: Request, params: Map<string, string>): Promise<unknown> => {
    if (rule === "none") return null;
    if (rule === "required") return authenticateClient(clientDeps, request, params);
    if (rule === "when-named")
      return presentsClient(request, params) ? authenticateClient(clientDeps, request, params) : null;
    return rule.authenticate(request, params);
  };
  const challengeOf = (request: Request, error: unknown): Record<string, string> => {
    if (rule === "none") return {};
    if (typeof rule === "string") return clientAuthChallenge(request, error);
    return rule.challenge(request, error);
  };

  const answer = async (
    { request, requestId, origin, audit }: Context,
    readParams: () => Promise<Map<string, string>>,
  ) => {
    try {
      const params = await readParams();
      const client = (await callerOf(request, params)) as CallerOf<A>;
      // The address is worked out only if the handler reads it.
      const response = await handler({
        request,
        params,
        client,
        get clientIp() {
          return origin.ip;
        },
        audit,
      });
      for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
      return response;
    } catch (error) {
      return oauthFailure(deps.log, request, requestId, error, { ...cors, ...challengeOf(request, error) });
    }
  };
  const bodyParams = (request: Request) =>
    options.body === "none"
      ? Promise.resolve(new Map<string, string>())
      : readBodyParams(request, { json: options.body === "form-or-json" });

  // Destructured, not `(ctx) =>`: Elysia reads a handler's parameters to decide whether to parse the body itself, and the endpoint must be the one reading it.
  const app = new Elysia().use(context);
  app.post(path, ({ request, requestId, origin, audit }) =>
    answer({ request, requestId, origin, audit }, () => bodyParams(request)),
  );
  if (options.queryOnGet) {
    app.get(path, ({ request, requestId, origin, audit }) =>
      answer({ request, requestId, origin, audit }, async () => uniqueParams(new URL(request.url).searchParams)),
    );
  }
  if (options.cors) app.options(path, preflight);
  return app;
}
