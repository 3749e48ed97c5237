// MCP's tool-name rule (2025-11-25, server/tools, "Tool names"): 1 to 128
// characters, each an ASCII letter, a digit, "_", "-" or ".". The spec says
// SHOULD; the gateway makes it a MUST for upstream tools, both for the
// upstream's own name (what a call forwards) and for the name /mcp lists
// (prefix included): a name outside it is not offered, callable or
// grantable, so a name like `x"><img onerror=…>` never reaches a client, a
// tool permission, a page or a header (Mcp-Name). Pure: no I/O.

const toolNamePattern = /^[A-Za-z0-9_.-]{1,128}$/;

export function followsToolNameRule(name: string): boolean {
  return toolNamePattern.test(name);
}

/** An upstream's tools split by the rule: those /mcp may offer, and the names of the others, in the upstream's order. */
export function splitByToolName<T extends { name: string }>(
  tools: readonly T[],
  prefix: string,
): { offered: T[]; refused: string[] } {
  const offered: T[] = [];
  const refused: string[] = [];
  for (const tool of tools) {
    if (followsToolNameRule(tool.name) && followsToolNameRule(`${prefix}${tool.name}`)) offered.push(tool);
    else refused.push(tool.name);
  }
  return { offered, refused };
}
