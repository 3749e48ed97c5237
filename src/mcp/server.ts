import {
  createMcpHandler,
  McpServer,
  type CallToolResult,
  type InputRequiredResult,
  type McpHttpHandler,
  type McpRequestContext,
  type ServerCapabilities,
  type ServerContext,
} from "@modelcontextprotocol/server";
import pkg from "../../package.json";
import { auditedToolCall } from "../audit/tool-calls.ts";
import type { AuditRecorder } from "../audit/recorder.ts";
import type { Logger } from "../log.ts";
import { callerOf, requestContextOf } from "./caller.ts";
import { visibleTools } from "./gating.ts";
import { RequestIdMcpServer } from "./request-id.ts";
import { toolError, type ToolDefinition } from "./tools/definition.ts";

type ToolHandler = (args: unknown, ctx: ServerContext) => Promise<CallToolResult | InputRequiredResult>;

export interface CatalogueEntry {
  tool: ToolDefinition;
  config: Pick<ToolDefinition, "title" | "description" | "inputSchema" | "outputSchema" | "annotations" | "_meta">;
  handler: ToolHandler;
  /** The output schema as JSON Schema (the 2025 projection wraps results of a non-object one). */
  outputSchemaJson: Record<string, unknown> | undefined;
  /** Whether the input schema declares `x-mcp-header` parameters, which only the SDK checks (SEP-2243). */
  declaresHeaders: boolean;
}

/** Tools, resources and prompts that come and go at runtime: the upstream gateway (src/gateway/gateway.ts). */
export interface UpstreamSource {
  tools(): readonly ToolDefinition[];
  /** Called after each change of the tools (an upstream connected, dropped, or sent list_changed). */
  onChange(listener: () => void): void;
  /** Serves resources/*, prompts/* and completion on a serving instance, and reports resource updates; null when there are no upstreams. */
  readonly proxies: {
    capabilities: ServerCapabilities;
    /** Checks a round's requestState before any handler runs (ServerOptions.requestState). */
    requestState: { verify(state: string, ctx: ServerContext): Promise<unknown> };
    install(server: McpServer, context: McpRequestContext): void;
    onResourceUpdated(listener: (uri: string) => void): void;
  } | null;
}

/** One consistent set of tools and their prepared SDK entries; replaced whole, never edited. */
export interface CatalogueSnapshot {
  tools: readonly ToolDefinition[];
  byName: ReadonlyMap<string, ToolDefinition>;
  entries: ReadonlyMap<string, CatalogueEntry>;
}

/**
 * The tools /mcp offers, with their handlers. The built-in tools are fixed;
 * upstream tools change at runtime, so `tools` and `byName` read the current
 * snapshot, which is rebuilt when the upstreams change, not per request.
 */
export interface ToolCatalogue {
  readonly tools: readonly ToolDefinition[];
  readonly byName: ReadonlyMap<string, ToolDefinition>;
  readonly current: CatalogueSnapshot;
  readonly upstream: UpstreamSource | null;
  onChange(listener: () => void): void;
}

function snapshotOf(
  builtins: readonly ToolDefinition[],
  upstreamTools: readonly ToolDefinition[],
  audit: AuditRecorder | null,
): CatalogueSnapshot {
  const byName = new Map<string, ToolDefinition>();
  for (const tool of builtins) {
    if (byName.has(tool.name)) throw new Error(`two tools are named ${tool.name}`);
    byName.set(tool.name, tool);
  }
  // Upstream names are unique among themselves (the gateway sees to it) and never carry the built-in prefix.
  for (const tool of upstreamTools) if (!byName.has(tool.name)) byName.set(tool.name, tool);
  const tools = [...byName.values()];
  const entries = new Map(tools.map((tool) => [tool.name, entryOf(tool, audit)]));
  return { tools, byName, entries };
}

function entryOf(tool: ToolDefinition, audit: AuditRecorder | null): CatalogueEntry {
  const { title, description, inputSchema, outputSchema, annotations, _meta } = tool;
  const config = {
    title,
    description,
    inputSchema,
    annotations,
    ...(outputSchema && { outputSchema }),
    ...(_meta && { _meta }),
  };
  const outputSchemaJson = outputSchema?.["~standard"].jsonSchema.output({ target: "draft-2020-12" });
  const declaresHeaders = JSON.stringify(
    inputSchema["~standard"].jsonSchema.input({ target: "draft-2020-12" }),
  ).includes('"x-mcp-header"');
  return { tool, config, handler: handlerOf(tool, audit), outputSchemaJson, declaresHeaders };
}

/** With `audit`, every call of every tool is recorded in the audit log (src/audit/tool-calls.ts). */
export function createToolCatalogue(
  builtins: ToolDefinition[],
  upstream: UpstreamSource | null = null,
  audit: AuditRecorder | null = null,
): ToolCatalogue {
  let snapshot = snapshotOf(builtins, upstream?.tools() ?? [], audit);
  const listeners: (() => void)[] = [];
  upstream?.onChange(() => {
    snapshot = snapshotOf(builtins, upstream.tools(), audit);
    for (const listener of listeners) listener();
  });
  return {
    get tools() {
      return snapshot.tools;
    },
    get byName() {
      return snapshot.byName;
    },
    get current() {
      return snapshot;
    },
    upstream,
    onChange: (listener) => listeners.push(listener),
  };
}

/**
 * A tool's SDK handler. The caller comes from the request's AuthInfo, which
 * the bearer check made and the SDK hands each handler as `ctx.http.authInfo`.
 */
function handlerOf(tool: ToolDefinition, audit: AuditRecorder | null): ToolHandler {
  return async (args, ctx) => {
    const caller = callerOf(ctx.http?.authInfo);
    if (!caller) return toolError("This request carries no authenticated caller.");
    if (!audit) return (await tool.run(caller, args, ctx)).result;
    return auditedToolCall(audit, { tool, caller, args, context: requestContextOf(ctx.http?.authInfo) }, () =>
      tool.run(caller, args, ctx),
    );
  };
}

/**
 * The /mcp handler: the SDK's Streamable HTTP entry, serving 2026-07-28 and,
 * through its stateless fallback, the 2025-03-26, 2025-06-18 and 2025-11-25
 * revisions, from one catalogue.
 *
 * Built once (and again only when the upstreams change): tool schemas,
 * annotations, handlers and their SDK configs.
 * Not built once: the McpServer shell. createMcpHandler asks its factory for
 * an instance per exchange and refuses one still serving another ("Return a
 * new instance for each request"): an SDK instance holds exactly one
 * transport. The factory therefore only binds the caller's visible tools,
 * prepared here, onto a fresh shell (measured in process: about 25-45 µs of a
 * 140-150 µs tools/call exchange; the rest is the SDK's per-exchange transport).
 */
/** Who answers on /mcp, in initialize and in every 2026-07-28 result's _meta. */
export const serverInfo = { name: "gatehouse", version: pkg.version };

export function createMcpEndpointHandler(catalogue: ToolCatalogue, log: Logger): McpHttpHandler {
  const proxies = catalogue.upstream?.proxies ?? null;
  const capabilities = { tools: { listChanged: catalogue.upstream !== null }, ...proxies?.capabilities };
  const options = { capabilities, ...(proxies && { requestState: proxies.requestState }) };

  const factory = (ctx: McpRequestContext) => {
    // Its error answers name the request id (request-id.ts); outside /mcp's bearer check there is none.
    const requestId = requestContextOf(ctx.authInfo)?.requestId;
    const server = requestId
      ? new RequestIdMcpServer(requestId, serverInfo, options)
      : new McpServer(serverInfo, options);
    const caller = callerOf(ctx.authInfo);
    // One snapshot for the whole exchange, however the upstreams change meanwhile.
    const { tools, entries } = catalogue.current;
    // tools/list shows only what the caller may call (gating.ts).
    for (const tool of caller ? visibleTools(caller, tools) : []) {
      const entry = entries.get(tool.name)!;
      server.registerTool(tool.name, entry.config, entry.handler);
    }
    proxies?.install(server, ctx);
    return server;
  };

  const handler = createMcpHandler(factory, {
    legacy: "stateless",
    // Rejections the SDK answers itself (bad protocol version, bad headers) land here; the client got its answer.
    onerror: (error) => log.warn("mcp request rejected", { error: `${error.name}: ${error.message}` }),
  });
  // 2026-07-28 clients listening on subscriptions/listen hear when the upstreams change.
  catalogue.onChange(() => {
    handler.notify.toolsChanged();
    if (proxies) {
      handler.notify.resourcesChanged();
      handler.notify.promptsChanged();
    }
  });
  proxies?.onResourceUpdated((uri) => handler.notify.resourceUpdated(uri));
  return handler;
}
