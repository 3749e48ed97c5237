/** The one protected resource: the MCP endpoint (RFC 8707, RFC 9728). No trailing slash. */
export function mcpResourceUrl(publicUrl: string): string {
  return `${publicUrl}/mcp`;
}
