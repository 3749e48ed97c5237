import { InvalidTarget } from "./errors.ts";

/** The one protected resource: the MCP endpoint (RFC 8707, RFC 9728). No trailing slash. */
export function mcpResourceUrl(publicUrl: string): string {
  return `${publicUrl}/mcp`;
}

/**
 * The resource a request's `resource` parameter (RFC 8707 §2) asks for,
 * always as the canonical `<public URL>/mcp`, which authorizations and tokens store
 * and /mcp checks. Absent means the one resource (Claude Code, Cursor send
 * none). Clients also send the URL the person typed: `/mcp/` (which /mcp
 * serves too) or the bare origin, with or without its slash; these name the
 * same resource. Anything else, another host, path, a query or a fragment
 * (§2: none allowed), is invalid_target.
 */
export function requestedResource(publicUrl: string, resource: string | undefined): string {
  const canonical = mcpResourceUrl(publicUrl);
  if (resource === undefined) return canonical;
  const spellings = [canonical, `${canonical}/`, publicUrl, `${publicUrl}/`];
  if (!spellings.includes(resource)) throw new InvalidTarget(`The only resource here is ${canonical}.`);
  return canonical;
}
