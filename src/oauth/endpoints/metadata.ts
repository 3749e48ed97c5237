import { Elysia } from "elysia";
import { tokenEndpointAuthMethods } from "../../db/schema.ts";
import { oauthPaths } from "../paths.ts";
import { supportedScopes } from "../scopes.ts";
import { corsHeaders, preflight } from "./endpoint.ts";
import { tokenGrantTypes } from "./token.ts";

/**
 * RFC 8414 authorization server metadata. Advertises exactly what is
 * implemented; `issuer` is the public origin, byte-identical everywhere.
 */
export function authorizationServerMetadata(issuer: string) {
  return {
    issuer,
    authorization_endpoint: `${issuer}${oauthPaths.authorize}`,
    token_endpoint: `${issuer}${oauthPaths.token}`,
    registration_endpoint: `${issuer}${oauthPaths.register}`,
    revocation_endpoint: `${issuer}${oauthPaths.revoke}`,
    introspection_endpoint: `${issuer}${oauthPaths.introspect}`,
    device_authorization_endpoint: `${issuer}${oauthPaths.deviceAuthorization}`,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: tokenGrantTypes,
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: tokenEndpointAuthMethods,
    revocation_endpoint_auth_methods_supported: tokenEndpointAuthMethods,
    // RFC 7662 §2.1: introspection is for confidential clients.
    introspection_endpoint_auth_methods_supported: tokenEndpointAuthMethods.filter((method) => method !== "none"),
    scopes_supported: supportedScopes,
    client_id_metadata_document_supported: true,
    authorization_response_iss_parameter_supported: true,
  };
}

export function metadataRoutes(issuer: string) {
  const body = JSON.stringify(authorizationServerMetadata(issuer));
  const respond = () =>
    new Response(body, {
      headers: { "content-type": "application/json", "cache-control": "public, max-age=300", ...corsHeaders },
    });
  // Some clients only try the OpenID path, or append the issuer's (empty) path.
  const paths = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"];
  let app = new Elysia();
  for (const path of paths) app = app.get(path, respond).options(path, preflight);
  return app;
}
