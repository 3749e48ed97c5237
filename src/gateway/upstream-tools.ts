import { fromJsonSchema, type StandardSchemaWithJSON } from "@modelcontextprotocol/server";
import type { Logger } from "../log.ts";
import type { ToolDefinition } from "../mcp/tools/definition.ts";
import type { InFlightCalls } from "./cancellation.ts";
import { annotationsFor, classifyTool, scopesFor } from "./classify.ts";
import { forwardToolCall } from "./forward.ts";
import type { Rounds } from "./round-state.ts";
import type { Upstream } from "./upstream.ts";

/**
 * The catalogue entries for one upstream's tools as its last tools/list gave
 * them: prefixed names; title, description, schemas and _meta passed
 * through; annotations passed through with readOnlyHint matching the class
 * (which also sets the scope a caller needs). Hidden tools are left out.
 */
export function upstreamToolDefinitions(
  upstream: Upstream,
  timeoutMs: number,
  log: Logger,
  inFlight: InFlightCalls,
  rounds: Rounds,
): ToolDefinition[] {
  const { prefix } = upstream.config;
  const definitions: ToolDefinition[] = [];
  for (const tool of upstream.lists.tools) {
    const toolClass = classifyTool(tool.name, tool.annotations, upstream.config);
    if (toolClass === "hidden") continue;
    let inputSchema: StandardSchemaWithJSON;
    let outputSchema: StandardSchemaWithJSON | undefined;
    try {
      inputSchema = fromJsonSchema(tool.inputSchema as Parameters<typeof fromJsonSchema>[0]);
      outputSchema = tool.outputSchema
        ? fromJsonSchema(tool.outputSchema as Parameters<typeof fromJsonSchema>[0])
        : undefined;
    } catch (error) {
      log.warn("upstream tool left out: unusable schema", {
        upstream: upstream.name,
        tool: tool.name,
        error: (error as Error).message,
      });
      continue;
    }
    const forwarding = { upstream, name: tool.name, tool: `${prefix}${tool.name}`, timeoutMs, inFlight, rounds };
    definitions.push({
      name: forwarding.tool,
      upstream: upstream.name,
      ...(tool.title !== undefined && { title: tool.title }),
      description: tool.description ?? "",
      inputSchema,
      ...(outputSchema && { outputSchema }),
      annotations: annotationsFor(tool.annotations, toolClass),
      ...(tool._meta !== undefined && { _meta: tool._meta }),
      requiredScopes: scopesFor[toolClass],
      run: (caller, args, ctx) => forwardToolCall(forwarding, caller, args, ctx),
    });
  }
  return definitions;
}
