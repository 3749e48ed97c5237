// Where each OAuth endpoint lives. Metadata, routes and tests all read these.
export const oauthPaths = {
  authorize: "/oauth/authorize",
  token: "/oauth/token",
  register: "/oauth/register",
  revoke: "/oauth/revoke",
  introspect: "/oauth/introspect",
} as const;

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
