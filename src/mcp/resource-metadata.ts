import { Elysia } from "elysia";
import { corsHeaders } from "../oauth/endpoints/endpoint.ts";
import { mcpResourceUrl } from "../oauth/resource.ts";
import { supportedScopes } from "../oauth/scopes.ts";

/** RFC 9728 §3.1: the metadata of resource `<public>/mcp` lives at the well-known path with `/mcp` appended. */
export const protectedResourceMetadataPath = "/.well-known/oauth-protected-resource/mcp";

export function protectedResourceMetadataUrl(publicUrl: string): string {
  return `${publicUrl}${protectedResourceMetadataPath}`;
}

/**
 * RFC 9728 protected resource metadata for the one resource, `/mcp`.
 * `resource` is the exact URL clients connect to (no trailing slash) and
 * `authorization_servers` holds the issuer byte for byte (field failures 1, 2).
 * No `offline_access`: it is not a resource scope.
 */
export function protectedResourceMetadata(publicUrl: string) {
  return {
    resource: mcpResourceUrl(publicUrl),
    authorization_servers: [publicUrl],
    scopes_supported: supportedScopes,
    bearer_methods_supported: ["header"],
    resource_name: "Gatehouse",
  };
}

/**
 * Served at the path-aware location and at the bare one (clients that drop
 * the path), with CORS, and never behind the bearer check (field failure 8).
 */
export function resourceMetadataRoutes(publicUrl: string) {
  const body = JSON.stringify(protectedResourceMetadata(publicUrl));
  const respond = () =>
    new Response(body, {
      headers: { "content-type": "application/json", "cache-control": "public, max-age=300", ...corsHeaders },
    });
  const preflight = () => new Response(null, { status: 204, headers: corsHeaders });
  let app = new Elysia();
  for (const path of [protectedResourceMetadataPath, "/.well-known/oauth-protected-resource"]) {
    app = app.get(path, respond).options(path, preflight);
  }
  return app;
}
