import { Elysia } from "elysia";
import type { AppDeps } from "../http/deps.ts";
import type { RequestContext, RequestOrigin } from "../http/request-context.ts";
import type { AuditRecorder } from "../audit/recorder.ts";
import { refusedToolCall } from "../audit/tool-calls.ts";
import { mcpResourceUrl } from "../oauth/resource.ts";
import { checkBearer, insufficientScopeChallenge, unauthorizedChallenge } from "./bearer.ts";
import { countMessages, invalidRequestCode } from "./batch.ts";
import { authInfoOf, type Caller } from "./caller.ts";
import { createCredentialCache } from "./credential-cache.ts";
import { type DirectCall, type DirectCallDeps, directToolCall } from "./direct-call.ts";
import type { DirectAnswer } from "./direct-exchange.ts";
import { deniedToolCalls } from "./gating.ts";
import { permissionDeniedCode, permissionDeniedResponse } from "./permission-denied.ts";
import { dataWithRequestId, errorResponseWithRequestId } from "./request-id.ts";
import { hostAllowed, mcpCorsHeaders, mcpPreflightHeaders, originAllowed, requestGuard } from "./request-guard.ts";
import { createMcpRateLimit, jsonRpcIdOf, rateLimitedResponse } from "./rate-limit.ts";
import { jsonOf, type PostBody, readPostBody, requestForSdk } from "./request-body.ts";
import { protectedResourceMetadataUrl } from "./resource-metadata.ts";
import { createMcpEndpointHandler, serverInfo, type ToolCatalogue } from "./server.ts";
import { createToolsListCache } from "./tools-list-cache.ts";

export const mcpPath = "/mcp";

interface Refused {
  status: number;
  message: string;
  /** The request's X-Request-Id, in data.request_id (request-id.ts). */
  requestId: string;
  headers: Record<string, string>;
  code?: number;
  /** More for data beside request_id: what a 403 lacks. */
  data?: Record<string, unknown>;
  /** The JSON-RPC id of the request refused, when it could be read. */
  id?: string | number | null;
}

/**
 * Refusals made before the SDK sees the request: a JSON-RPC-shaped body
 * (what MCP clients parse) whose data names the request id, the meaning in
 * the status and, for 401/403, in WWW-Authenticate. Never HTML.
 */
function refusal(r: Refused): Response {
  const error = { code: r.code ?? -32000, message: r.message, data: dataWithRequestId(r.data, r.requestId) };
  return Response.json(
    { jsonrpc: "2.0", error, id: r.id ?? null },
    { status: r.status, headers: { "cache-control": "no-store", ...r.headers } },
  );
}

/**
 * The SDK's answer with our headers added: in place, since the SDK builds its
 * Responses itself and their headers are mutable (copying them cost about a
 * twentieth of a tools/call); on a copy if some answer's headers are immutable.
 */
function withHeaders(response: Response, headers: Record<string, string>): Response {
  try {
    for (const name in headers) response.headers.set(name, headers[name]!);
    return response;
  } catch {
    const merged = new Headers(response.headers);
    for (const name in headers) merged.set(name, headers[name]!);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers: merged });
  }
}

/** A Response as it is; a text answer through Elysia's `set`, so Elysia builds the one Response with every header. */
function sent(answer: DirectAnswer, set: { status?: number | string; headers: Record<string, unknown> }) {
  if (answer instanceof Response) return answer;
  set.status = answer.status;
  Object.assign(set.headers, answer.headers);
  return answer.body;
}

interface ToolGate {
  catalogue: ToolCatalogue;
  challenge: (description: string) => string;
  /** Where a person creates API keys, for permission_denied hints. */
  keysUrl: string;
  /** Every refused call is an audit entry with outcome denied. */
  audit: AuditRecorder;
}

/**
 * A tools/call this caller may not make, answered before dispatch: 403 for a
 * missing scope, so the client can step up (MCP authorization, scope
 * challenge); a JSON-RPC permission_denied error for a write tool outside the
 * key's or connection's tool permissions (permission-denied.ts). `body` is the POST's
 * parsed body (undefined for none): a map lookup per call in it.
 */
function toolCallRefusal(
  gate: ToolGate,
  caller: Caller,
  body: unknown,
  context: AuditOrigin,
  headers: Record<string, string>,
) {
  const denied = deniedToolCalls(caller, gate.catalogue.byName, body);
  if (denied.length === 0) return null;
  for (const d of denied) {
    const more = d.argument
      ? {
          missing: `argument:${d.argument.argument}`,
          args: toolArgumentsAt(body, d.index),
          argumentsMode: gate.audit.argumentsMode,
        }
      : null;
    gate.audit.record(
      refusedToolCall(
        caller,
        d.tool,
        d.missing === "scope" ? "insufficient_scope" : "permission_denied",
        context,
        more,
      ),
    );
  }
  const scope = denied.find((d) => d.missing === "scope");
  if (!scope)
    return permissionDeniedResponse(body, denied, caller, {
      requestId: context.requestId,
      keysUrl: gate.keysUrl,
      headers,
    });
  const description = `The tool ${scope.tool.name} needs scope ${scope.tool.requiredScopes.join(" ")}.`;
  // Still a 403 with the scope challenge (clients step up on it), and the same data as the permission refusal, in the Evenhand shape.
  const missing = scope.tool.requiredScopes.find((s) => !caller.scopes.includes(s));
  return refusal({
    status: 403,
    message: description,
    requestId: context.requestId,
    headers: { ...headers, "www-authenticate": gate.challenge(description) },
    code: permissionDeniedCode,
    data: { error: "permission_denied", tool: scope.tool.name, missing: `scope:${missing}` },
    id: Array.isArray(body) ? null : jsonRpcIdOf(body),
  });
}

/** The `arguments` of the tools/call at `index` of a body (one message or a batch). */
function toolArgumentsAt(body: unknown, index: number): unknown {
  const message = Array.isArray(body) ? body[index] : body;
  return (message as { params?: { arguments?: unknown } }).params?.arguments;
}

/** Who sent a request, for the audit log: its X-Request-Id and the client address. */
interface AuditOrigin {
  requestId: string;
  ip: string;
}

/**
 * `/mcp`: Host and Origin checks, the bearer check, one read of the body,
 * the rate limit per credential (a batch counts per message), the batch
 * rule, the scope, tool permission and argument gate, then the SDK with the parsed body. The SDK
 * handler is built here once over the app's one catalogue (app.ts); a
 * request costs a token lookup, one parse and a dispatch.
 */
export function mcpRoutes(deps: AppDeps, catalogue: ToolCatalogue, context: RequestContext) {
  const resourceUrl = mcpResourceUrl(deps.config.publicUrl);
  const metadataUrl = protectedResourceMetadataUrl(deps.config.publicUrl);
  // Handed to every tool handler as AuthInfo.resource, which none changes.
  const resource = new URL(resourceUrl);
  const guard = requestGuard(deps.config);
  const handler = createMcpEndpointHandler(catalogue, deps.log);
  const credentials = createCredentialCache(deps.db, deps.authEpoch);
  const policies = deps.policies ?? [];
  const direct = deps.directToolCalls ?? { enabled: true };
  const toolsLists = createToolsListCache(catalogue);
  const directDeps: DirectCallDeps = { catalogue, serverInfo, logging: catalogue.upstream?.proxies != null };
  const rateLimit = createMcpRateLimit({
    limitPerMinute: deps.config.rateLimitPerMinute,
    now: deps.now,
    counters: deps.rateCounters,
  });
  const gate: ToolGate = {
    catalogue,
    challenge: (d) => insufficientScopeChallenge(metadataUrl, d),
    keysUrl: `${deps.config.publicUrl}/keys`,
    audit: deps.audit,
  };

  /**
   * A plain tools/call, or a tools/list answered before, answered here
   * (direct-call.ts, tools-list-cache.ts); anything else by the SDK with
   * the parsed body, its tools/list answers kept for the next caller alike.
   */
  const answer = async (request: Request, body: PostBody, call: Omit<DirectCall, "request" | "body">) => {
    const json = direct.enabled && body.kind === "json" ? body.value : undefined;
    const called = json === undefined ? null : await directToolCall(directDeps, { request, body: json, ...call });
    const listing = json === undefined || called ? null : toolsLists.lookup(request, json, call.caller, call.headers);
    const ours = called ?? listing?.cached;
    if (ours) {
      if (direct.answered !== undefined) direct.answered++;
      // Its error answers (a round the caller cannot answer) carry the request id already (direct-call.ts).
      return ours;
    }
    const { authInfo } = call;
    let response = await handler.fetch(
      requestForSdk(request, body),
      body.kind === "json" ? { authInfo, parsedBody: body.value } : { authInfo },
    );
    if (listing) response = await toolsLists.remember(listing.listing, response);
    return withHeaders(await errorResponseWithRequestId(response, call.requestId), call.headers);
  };

  // The client address is read (worked out) only for a request that gets as far as the audit log.
  const serve = async (request: Request, sender: RequestOrigin) => {
    const { requestId } = sender;
    const origin = request.headers.get("origin");
    if (!hostAllowed(guard, request.headers.get("host"))) {
      return refusal({
        status: 421,
        message: "This server does not answer for that Host.",
        requestId,
        headers: { vary: "origin" },
      });
    }
    if (!originAllowed(guard, origin))
      return refusal({
        status: 403,
        message: "Requests from this Origin are not allowed.",
        requestId,
        headers: { vary: "origin" },
      });
    const cors = mcpCorsHeaders(origin);
    const checked = checkBearer(
      { db: deps.db, now: deps.now(), resourceUrl, credentials, policies },
      request.headers.get("authorization"),
    );
    // On SQLite the verdict is here already: no await, so no extra turn on the fast path.
    const bearer = checked instanceof Promise ? await checked : checked;
    if (!bearer.ok) {
      const challenge = unauthorizedChallenge(metadataUrl, bearer.description);
      const message = bearer.description ?? "Authorization required: Bearer <access token or API key>.";
      return refusal({ status: 401, message, requestId, headers: { ...cors, "www-authenticate": challenge } });
    }
    const body = await readPostBody(request);
    const json = jsonOf(body);
    const count = countMessages(json, request.headers.get("mcp-protocol-version"));
    // A refused batch runs nothing and counts as the one request it is.
    const taking = rateLimit.take(bearer.caller, count.ok ? count.messages : 1);
    // In memory (SQLite) the verdict is here already: awaited only when the store is shared.
    const verdict = taking instanceof Promise ? await taking : taking;
    if (!verdict.allowed) {
      deps.metrics.rateLimited("mcp");
      return rateLimitedResponse(verdict, jsonRpcIdOf(json), requestId, cors);
    }
    const headers = { ...cors, ...verdict.headers };
    if (!count.ok)
      return refusal({ status: 400, message: count.message, requestId, headers, code: invalidRequestCode });
    if (body.kind === "refused")
      return refusal({ status: body.status, message: body.message, requestId, headers, code: body.code });
    const from: AuditOrigin = { requestId, ip: sender.ip };
    const refused = toolCallRefusal(gate, bearer.caller, json, from, headers);
    if (refused) return refused;
    const authInfo = authInfoOf(bearer.caller, resource, metadataUrl, from);
    return answer(request, body, { caller: bearer.caller, authInfo, requestId, headers });
  };

  const preflight = (request: Request, requestId: string) => {
    const origin = request.headers.get("origin");
    if (origin === null || !originAllowed(guard, origin)) {
      return refusal({
        status: 403,
        message: "Requests from this Origin are not allowed.",
        requestId,
        headers: { vary: "origin" },
      });
    }
    return new Response(null, {
      status: 204,
      headers: mcpPreflightHeaders(origin, request.headers.get("access-control-request-headers")),
    });
  };

  // Destructured, not `(ctx) =>`: Elysia would parse the body itself, and readPostBody must be the one reading it.
  return new Elysia()
    .use(context)
    .options(mcpPath, ({ request, requestId }) => preflight(request, requestId))
    .post(mcpPath, async ({ request, origin, set }) => sent(await serve(request, origin), set))
    .get(mcpPath, async ({ request, origin, set }) => sent(await serve(request, origin), set))
    .delete(mcpPath, async ({ request, origin, set }) => sent(await serve(request, origin), set));
}
