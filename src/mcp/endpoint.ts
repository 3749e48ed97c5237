import { readRequestBody } from "@modelcontextprotocol/server";
import { Elysia } from "elysia";
import type { AppDeps } from "../app.ts";
import { mcpResourceUrl } from "../oauth/resource.ts";
import { checkBearer, insufficientScopeChallenge, unauthorizedChallenge } from "./bearer.ts";
import { authInfoOf, type Caller } from "./caller.ts";
import { deniedToolCall, mayCall } from "./gating.ts";
import { hostAllowed, mcpCorsHeaders, mcpPreflightHeaders, originAllowed, requestGuard } from "./request-guard.ts";
import { protectedResourceMetadataUrl } from "./resource-metadata.ts";
import { createMcpEndpointHandler, createToolCatalogue, type ToolCatalogue } from "./server.ts";
import { builtinTools } from "./tools/builtin.ts";

export const mcpPath = "/mcp";

// The SDK's own bound on bodies it reads (4 MiB); a bigger one is left to it to refuse.
const maxPeekBytes = 4 * 1024 * 1024;

/**
 * Refusals made before the SDK sees the request: a JSON-RPC-shaped body
 * (what MCP clients parse), the meaning in the status and, for 401/403, in
 * WWW-Authenticate. Never HTML.
 */
function refusal(status: number, message: string, headers: Record<string, string>): Response {
  return Response.json({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }, { status, headers: { "cache-control": "no-store", ...headers } });
}

function withHeaders(response: Response, headers: Record<string, string>): Response {
  const merged = new Headers(response.headers);
  for (const [name, value] of Object.entries(headers)) merged.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: merged });
}

/** The JSON body of a POST, read from a clone so the SDK still gets the request untouched; null if unreadable. */
async function peekJson(request: Request): Promise<unknown> {
  try {
    const read = await readRequestBody(request.clone(), maxPeekBytes);
    return read.tooLarge ? null : JSON.parse(read.text);
  } catch {
    return null;
  }
}

/** A tools/call this caller may not make, answered 403 so the client can step up (MCP authorization, scope challenge). */
async function scopeRefusal(catalogue: ToolCatalogue, caller: Caller, request: Request, challenge: (d: string) => string, cors: Record<string, string>) {
  if (request.method !== "POST" || catalogue.tools.every((tool) => mayCall(caller, tool))) return null;
  const denied = deniedToolCall(caller, catalogue.byName, await peekJson(request));
  if (!denied) return null;
  const description = `The tool ${denied.name} needs scope ${denied.requiredScopes.join(" ")}.`;
  return refusal(403, description, { ...cors, "www-authenticate": challenge(description) });
}

/**
 * `/mcp`: Host and Origin checks, the bearer check, the scope gate, then the
 * SDK. The catalogue and the SDK handler are built here once; a request costs
 * a token lookup and a dispatch.
 */
export function mcpRoutes(deps: AppDeps) {
  const resourceUrl = mcpResourceUrl(deps.config.publicUrl);
  const metadataUrl = protectedResourceMetadataUrl(deps.config.publicUrl);
  const guard = requestGuard(deps.config);
  const catalogue = createToolCatalogue(builtinTools(deps));
  const handler = createMcpEndpointHandler(catalogue, deps.log);

  const serve = async ({ request }: { request: Request }) => {
    const origin = request.headers.get("origin");
    if (!hostAllowed(guard, request.headers.get("host"))) {
      return refusal(421, "This server does not answer for that Host.", { vary: "origin" });
    }
    if (!originAllowed(guard, origin)) return refusal(403, "Requests from this Origin are not allowed.", { vary: "origin" });
    const cors = mcpCorsHeaders(origin);
    const bearer = checkBearer({ db: deps.db, now: deps.now(), resourceUrl }, request.headers.get("authorization"));
    if (!bearer.ok) {
      const challenge = unauthorizedChallenge(metadataUrl, bearer.description);
      return refusal(401, bearer.description ?? "Authorization required: Bearer <access token or API key>.", { ...cors, "www-authenticate": challenge });
    }
    const refused = await scopeRefusal(catalogue, bearer.caller, request, (d) => insufficientScopeChallenge(metadataUrl, d), cors);
    if (refused) return refused;
    const response = await handler.fetch(request, { authInfo: authInfoOf(bearer.caller, resourceUrl, metadataUrl) });
    return withHeaders(response, cors);
  };

  const preflight = ({ request }: { request: Request }) => {
    const origin = request.headers.get("origin");
    if (origin === null || !originAllowed(guard, origin)) return refusal(403, "Requests from this Origin are not allowed.", { vary: "origin" });
    return new Response(null, { status: 204, headers: mcpPreflightHeaders(origin, request.headers.get("access-control-request-headers")) });
  };

  return new Elysia().options(mcpPath, preflight).post(mcpPath, serve).get(mcpPath, serve).delete(mcpPath, serve);
}
