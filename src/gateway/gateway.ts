import type { McpRequestContext, McpServer, ServerContext } from "@modelcontextprotocol/server";
import type { Logger } from "../log.ts";
import type { ToolDefinition } from "../mcp/tools/definition.ts";
import { InFlightCalls, installCancellation } from "./cancellation.ts";
import type { GatewayConfig } from "./config.ts";
import { ApiUpstream } from "./openapi/api-upstream.ts";
import { apiToolDefinitions } from "./openapi/tools.ts";
import { HeldCalls } from "./held-calls.ts";
import { buildFeatureIndex, installProxies, proxyCapabilities, type FeatureIndex } from "./proxies.ts";
import { createRoundStateCodec, verifyRoundState, type Rounds } from "./round-state.ts";
import { Upstream, type UpstreamStatus } from "./upstream.ts";
import { upstreamToolDefinitions } from "./upstream-tools.ts";

export interface GatewayOptions {
  config: GatewayConfig;
  log: Logger;
  toolTimeoutSeconds: number;
  /** Reconnect delays (milliseconds); 1 s doubling to 30 s unless set. */
  backoff?: { firstMs: number; maxMs: number };
}

/**
 * The upstreams: MCP servers (their connections, and the tools, resources and
 * prompts they add to /mcp) and REST APIs described by OpenAPI documents
 * (tools only). Tool definitions and the resource/prompt index are rebuilt
 * when an upstream connects, drops, reports a changed list or has its
 * document read, never per request; listeners (the /mcp catalogue) hear
 * about each rebuild.
 */
export class Gateway {
  /** The MCP servers. */
  readonly upstreams: readonly Upstream[];
  /** The REST APIs. */
  readonly apis: readonly ApiUpstream[];
  /** Both, in the config file's order (statuses, and which upstream's tool wins a name). */
  private readonly all: readonly (Upstream | ApiUpstream)[];
  private definitions: ToolDefinition[] = [];
  private index: FeatureIndex = buildFeatureIndex([]);
  private readonly listeners: (() => void)[] = [];
  private readonly resourceListeners: ((uri: string) => void)[] = [];
  private readonly timeoutMs: number;
  private readonly inFlight = new InFlightCalls();
  /** Input-required rounds: a round must be answered within the tool timeout. */
  private readonly rounds: Rounds;

  constructor(private readonly options: GatewayOptions) {
    this.timeoutMs = options.toolTimeoutSeconds * 1000;
    this.rounds = { codec: createRoundStateCodec(options.toolTimeoutSeconds), held: new HeldCalls() };
    const common = {
      log: options.log,
      onChange: () => this.rebuild(),
      ...(options.backoff && { backoff: options.backoff }),
    };
    this.all = options.config.upstreams.map((config) =>
      config.kind === "openapi"
        ? new ApiUpstream({ config, ...common })
        : new Upstream({
            config,
            ...common,
            onResourceUpdated: (uri) => {
              for (const listener of this.resourceListeners) listener(uri);
            },
          }),
    );
    this.upstreams = this.all.filter((u) => u instanceof Upstream);
    this.apis = this.all.filter((u) => u instanceof ApiUpstream);
  }

  /** Connects every upstream (reads every document) in the background: none of them can delay or stop the start. */
  start(): void {
    for (const upstream of this.all) upstream.start();
  }

  /** Closes every connection and ends every stdio child. */
  async stop(): Promise<void> {
    await Promise.all(this.all.map((u) => u.stop()));
  }

  statuses(): UpstreamStatus[] {
    return this.all.map((u) => u.status());
  }

  /** The upstream tools /mcp offers right now. */
  tools(): readonly ToolDefinition[] {
    return this.definitions;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * What each /mcp serving instance gets: resources/*, prompts/* and
   * completion, and 2025 callers' cancellations; the check of a round's
   * requestState (round-state.ts), which the SDK runs before any handler;
   * and the resources an upstream says changed (after a
   * resources/subscribe). Null when no MCP upstream is configured (REST
   * APIs offer tools only).
   */
  get proxies() {
    if (this.upstreams.length === 0) return null;
    return {
      capabilities: proxyCapabilities,
      requestState: { verify: (state: string, ctx: ServerContext) => verifyRoundState(this.rounds, state, ctx) },
      install: (server: McpServer, context: McpRequestContext) => {
        installProxies(server, () => this.index, this.timeoutMs, this.rounds);
        installCancellation(server, this.inFlight, context);
      },
      onResourceUpdated: (listener: (uri: string) => void) => void this.resourceListeners.push(listener),
    };
  }

  private rebuild(): void {
    const taken = new Set<string>();
    const definitions: ToolDefinition[] = [];
    for (const upstream of this.all) {
      const tools =
        upstream instanceof ApiUpstream
          ? apiToolDefinitions(upstream, this.timeoutMs, this.options.log)
          : upstreamToolDefinitions(upstream, this.timeoutMs, this.options.log, this.inFlight, this.rounds);
      for (const tool of tools) {
        if (taken.has(tool.name)) {
          this.options.log.warn("upstream tool left out: name taken", { upstream: upstream.name, tool: tool.name });
          continue;
        }
        taken.add(tool.name);
        definitions.push(tool);
      }
    }
    this.definitions = definitions;
    this.index = buildFeatureIndex(this.upstreams);
    for (const listener of this.listeners) listener();
  }
}
