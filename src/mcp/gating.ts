import type { Caller } from "./caller.ts";

// Which tools a caller may see and call. Pure: no I/O, no SDK. Today the
// only rule is scope; per-tool grants will be a second rule here.

export interface GatedTool {
  name: string;
  /** Every scope a caller needs to call the tool. */
  requiredScopes: readonly string[];
}

export function mayCall(caller: Caller, tool: GatedTool): boolean {
  return tool.requiredScopes.every((scope) => caller.scopes.includes(scope));
}

/** The tools a caller may call: the only ones tools/list shows them. */
export function visibleTools<T extends GatedTool>(caller: Caller, tools: readonly T[]): T[] {
  return tools.filter((tool) => mayCall(caller, tool));
}

/**
 * The first tool a JSON-RPC body (one message or a 2025-era batch) calls
 * that exists but is beyond the caller's scopes, or null. Such a call is
 * answered 403 insufficient_scope before dispatch (MCP authorization, scope
 * challenge), so the client can step up instead of seeing "unknown tool".
 */
export function deniedToolCall(caller: Caller, tools: ReadonlyMap<string, GatedTool>, body: unknown): GatedTool | null {
  for (const message of Array.isArray(body) ? body : [body]) {
    if (typeof message !== "object" || message === null) continue;
    const { method, params } = message as { method?: unknown; params?: { name?: unknown } };
    if (method !== "tools/call" || typeof params?.name !== "string") continue;
    const tool = tools.get(params.name);
    if (tool && !mayCall(caller, tool)) return tool;
  }
  return null;
}
