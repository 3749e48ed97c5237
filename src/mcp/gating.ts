import { argumentRefusal, type ArgumentRefusal } from "./argument-gates.ts";
import type { Caller } from "./caller.ts";

// Which tools a caller may see and call. Pure: no I/O, no SDK. Three rules:
// the scope (a write tool needs mcp:write), then, for write tools only, the
// tool permissions of the API key or connection (Caller.tools; null: every
// write tool), then, for each call, the argument limits of the credential
// and the admin policy (Caller.limits, argument-gates.ts). Read tools need
// mcp:read and, where a policy names them, allowed arguments.

export interface GatedTool {
  name: string;
  /** Every scope a caller needs to call the tool. */
  requiredScopes: readonly string[];
}

/** A write tool needs mcp:write (src/gateway/classify.ts decides which tools those are). */
export function isWriteTool(tool: GatedTool): boolean {
  return tool.requiredScopes.includes("mcp:write");
}

/** What the caller lacks to call `tool`: a scope, the tool among its permissions, an allowed argument value, or nothing (null). */
export type Missing = "scope" | "permission" | "argument";

export function missingFor(caller: Caller, tool: GatedTool): Missing | null {
  if (!tool.requiredScopes.every((scope) => caller.scopes.includes(scope))) return "scope";
  if (caller.tools !== null && isWriteTool(tool) && !caller.tools.includes(tool.name)) return "permission";
  return null;
}

export function mayCall(caller: Caller, tool: GatedTool): boolean {
  return missingFor(caller, tool) === null;
}

/** The tools a caller may call: the only ones tools/list shows them. */
export function visibleTools<T extends GatedTool>(caller: Caller, tools: readonly T[]): T[] {
  return tools.filter((tool) => mayCall(caller, tool));
}

export interface DeniedCall {
  /** Where the call sits in the body: 0 for a single message, its place in a batch otherwise. */
  index: number;
  tool: GatedTool;
  missing: Missing;
  /** For a missing "argument": which one, and whose limit. */
  argument?: ArgumentRefusal;
}

/**
 * The calls in a JSON-RPC body (one message or a 2025-era batch) of tools
 * that exist but that the caller may not call, in order. The endpoint
 * answers them before dispatch: 403 insufficient_scope for a missing scope
 * (MCP authorization, scope challenge), so the client can step up instead of
 * seeing "unknown tool"; a permission_denied error for a missing permission or
 * an argument outside the limits. Tools stay listed whatever their limits:
 * a limit is on values, which only a call shows.
 */
export function deniedToolCalls(caller: Caller, tools: ReadonlyMap<string, GatedTool>, body: unknown): DeniedCall[] {
  const denied: DeniedCall[] = [];
  const messages = Array.isArray(body) ? body : [body];
  messages.forEach((message, index) => {
    if (typeof message !== "object" || message === null) return;
    const { method, params } = message as { method?: unknown; params?: { name?: unknown; arguments?: unknown } };
    if (method !== "tools/call" || typeof params?.name !== "string") return;
    const tool = tools.get(params.name);
    if (!tool) return;
    const missing = missingFor(caller, tool);
    if (missing) {
      denied.push({ index, tool, missing });
      return;
    }
    const argument = caller.limits.length === 0 ? null : argumentRefusal(caller.limits, tool.name, params.arguments);
    if (argument) denied.push({ index, tool, missing: "argument", argument });
  });
  return denied;
}
