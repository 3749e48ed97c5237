import {
  createMcpHandler,
  McpServer,
  type CallToolResult,
  type McpHttpHandler,
  type McpRequestContext,
  type ServerContext,
} from "@modelcontextprotocol/server";
import pkg from "../../package.json";
import type { Logger } from "../log.ts";
import { callerOf } from "./caller.ts";
import { visibleTools } from "./gating.ts";
import { toolError, type ToolDefinition } from "./tools/definition.ts";

/** The tools /mcp offers, with their handlers; built once at start. */
export interface ToolCatalogue {
  tools: readonly ToolDefinition[];
  byName: ReadonlyMap<string, ToolDefinition>;
}

type ToolHandler = (args: unknown, ctx: ServerContext) => Promise<CallToolResult>;

interface CatalogueEntry {
  tool: ToolDefinition;
  config: { title: string; description: string; inputSchema: ToolDefinition["inputSchema"]; annotations: ToolDefinition["annotations"] };
  handler: ToolHandler;
}

export function createToolCatalogue(tools: ToolDefinition[]): ToolCatalogue {
  const byName = new Map<string, ToolDefinition>();
  for (const tool of tools) {
    if (byName.has(tool.name)) throw new Error(`two tools are named ${tool.name}`);
    byName.set(tool.name, tool);
  }
  return { tools, byName };
}

/**
 * A tool's SDK handler. The caller comes from the request's AuthInfo, which
 * the bearer check made and the SDK hands each handler as `ctx.http.authInfo`.
 */
function handlerOf(tool: ToolDefinition): ToolHandler {
  return async (args, ctx) => {
    const caller = callerOf(ctx.http?.authInfo);
    if (!caller) return toolError("This request carries no authenticated caller.");
    return tool.run(caller, args);
  };
}

/**
 * The /mcp handler: the SDK's Streamable HTTP entry, serving 2026-07-28 and,
 * through its stateless fallback, the 2025-03-26, 2025-06-18 and 2025-11-25
 * revisions, from one catalogue.
 *
 * Built once: tool schemas, annotations, handlers and their SDK configs.
 * Not built once: the McpServer shell. createMcpHandler asks its factory for
 * an instance per exchange and refuses one still serving another ("Return a
 * new instance for each request"): an SDK instance holds exactly one
 * transport. The factory therefore only binds the caller's visible tools,
 * prepared here, onto a fresh shell (measured in process: about 25-45 µs of a
 * 140-150 µs tools/call exchange; the rest is the SDK's per-exchange transport).
 */
export function createMcpEndpointHandler(catalogue: ToolCatalogue, log: Logger): McpHttpHandler {
  const entries = new Map<string, CatalogueEntry>(
    catalogue.tools.map((tool) => [
      tool.name,
      {
        tool,
        config: { title: tool.title, description: tool.description, inputSchema: tool.inputSchema, annotations: tool.annotations },
        handler: handlerOf(tool),
      },
    ]),
  );
  const serverInfo = { name: "gatehouse", version: pkg.version };

  const factory = (ctx: McpRequestContext) => {
    const server = new McpServer(serverInfo, { capabilities: { tools: { listChanged: false } } });
    const caller = callerOf(ctx.authInfo);
    // tools/list shows only what the caller may call (gating.ts).
    for (const tool of caller ? visibleTools(caller, catalogue.tools) : []) {
      const entry = entries.get(tool.name)!;
      server.registerTool(tool.name, entry.config, entry.handler);
    }
    return server;
  };

  return createMcpHandler(factory, {
    legacy: "stateless",
    // Rejections the SDK answers itself (bad protocol version, bad headers) land here; the client got its answer.
    onerror: (error) => log.warn("mcp request rejected", { error: `${error.name}: ${error.message}` }),
  });
}
