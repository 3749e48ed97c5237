import { fromJsonSchema } from "@modelcontextprotocol/server";
import type { Logger } from "../../log.ts";
import type { ToolDefinition } from "../../mcp/tools/definition.ts";
import { annotationsFor, classifyTool, scopesFor } from "../classify.ts";
import type { ApiUpstream } from "./api-upstream.ts";
import { callOperation } from "./call.ts";

// HTTP methods that change nothing (RFC 9110 §9.2.1, safe methods, less
// OPTIONS and TRACE, which no API describes as reads): their operations are
// read tools; every other operation is a write tool.
const readMethods = new Set(["GET", "HEAD"]);

/**
 * The catalogue entries for an OpenAPI upstream's operations, as the MCP
 * upstreams' are built (upstream-tools.ts): prefixed names, classified by
 * method and then by the read, write and hide globs, readOnlyHint matching
 * the class. Nothing until its document is read.
 */
export function apiToolDefinitions(api: ApiUpstream, timeoutMs: number, log: Logger): ToolDefinition[] {
  const target = api.target;
  if (target === null) return [];
  const definitions: ToolDefinition[] = [];
  for (const operation of api.operations) {
    const declared = { readOnlyHint: readMethods.has(operation.method) };
    const toolClass = classifyTool(operation.name, declared, api.config);
    if (toolClass === "hidden") continue;
    let inputSchema: ToolDefinition["inputSchema"];
    try {
      inputSchema = fromJsonSchema(operation.inputSchema as Parameters<typeof fromJsonSchema>[0]);
    } catch (error) {
      log.warn("upstream tool left out: unusable schema", {
        upstream: api.name,
        tool: operation.name,
        error: (error as Error).message,
      });
      continue;
    }
    definitions.push({
      name: `${api.config.prefix}${operation.name}`,
      upstream: api.name,
      ...(operation.title !== undefined && { title: operation.title }),
      description: operation.description,
      inputSchema,
      annotations: annotationsFor(declared, toolClass),
      requiredScopes: scopesFor[toolClass],
      run: (_caller, args, ctx) => callOperation(target, operation, args, ctx, timeoutMs),
    });
  }
  return definitions;
}
