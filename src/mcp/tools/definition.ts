import type {
  CallToolResult,
  InputRequiredResult,
  ServerContext,
  StandardSchemaWithJSON,
  ToolAnnotations,
} from "@modelcontextprotocol/server";
import type { Caller } from "../caller.ts";
import type { GatedTool } from "../gating.ts";

/**
 * What running a tool gives: the result the caller gets and, for a failure
 * the audit log names apart from other errors, how it ended (a timeout, a
 * cancellation). Only `result` is sent (src/mcp/server.ts).
 */
export interface ToolRun {
  result: CallToolResult | InputRequiredResult;
  ended?: "timeout" | "cancelled";
}

/**
 * One entry of the tool catalogue, registered on every serving instance:
 * built once at start (built-in tools) or whenever an upstream's tools/list
 * changes (upstream tools, whose title, output schema and _meta pass through).
 */
export interface ToolDefinition extends GatedTool {
  /** The upstream server the tool comes from (for the audit log); absent for Gatehouse's own. */
  upstream?: string;
  title?: string;
  description: string;
  inputSchema: StandardSchemaWithJSON;
  outputSchema?: StandardSchemaWithJSON;
  annotations: ToolAnnotations;
  _meta?: Record<string, unknown>;
  /**
   * `ctx` carries the request's cancellation signal, progress token and
   * notification channel. An upstream tool may answer a 2026-07-28 caller
   * with an input-required round (src/gateway/forward.ts).
   */
  run(caller: Caller, args: unknown, ctx: ServerContext): ToolRun | Promise<ToolRun>;
}

/** Keeps `run`'s argument type tied to the input schema at the definition, erased in the catalogue; a built-in tool's run ends as its result says. */
export function defineTool<A>(
  definition: Omit<ToolDefinition, "inputSchema" | "run"> & {
    inputSchema: StandardSchemaWithJSON<A, A>;
    run(caller: Caller, args: A): CallToolResult | Promise<CallToolResult>;
  },
): ToolDefinition {
  const { run, ...rest } = definition;
  return { ...rest, run: async (caller, args) => ({ result: await run(caller, args as A) }) };
}

/** A result as text (every client shows it) and as structured content (clients that parse it). */
export function jsonResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }], structuredContent: value };
}

/**
 * A tool that ran and failed: a result with isError, never a JSON-RPC error (MCP tools spec).
 * Built as the SDK's McpServer builds one (createToolError), members in its order: the direct
 * tools/call path (src/mcp/direct-call.ts) answers with it where the SDK would.
 */
export function toolError(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

/** Unix seconds as ISO 8601, which models read more reliably than epoch numbers. */
export function isoTime(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}
