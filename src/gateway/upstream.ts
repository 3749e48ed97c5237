import {
  Client,
  ProtocolError,
  ProtocolErrorCode,
  type InputRequest,
  type LoggingMessageNotification,
  type ProgressNotification,
  type Prompt,
  type Resource,
  type ResourceTemplateType as ResourceTemplate,
  type Tool,
} from "@modelcontextprotocol/client";
import pkg from "../../package.json";
import type { Logger } from "../log.ts";
import { defaultBackoff, retryDelayMs, type Backoff } from "./backoff.ts";
import type { McpUpstreamConfig } from "./config.ts";
import { askableMethods } from "./questions.ts";
import { splitByToolName } from "./tool-names.ts";
import { upstreamTransport } from "./transport.ts";

export type UpstreamState = "starting" | "connected" | "failed" | "stopped";

/** What an upstream offers, as its last tools/list (its tools whose names follow MCP's rule), resources/list, templates and prompts/list said. */
export interface UpstreamLists {
  tools: Tool[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
  prompts: Prompt[];
}

export interface UpstreamStatus {
  name: string;
  kind: "stdio" | "http" | "openapi";
  state: UpstreamState;
  /** Why it is not connected (or last was not), null when it never failed. */
  reason: string | null;
  tools: number;
  /** Names of the tools its last tools/list offered that break MCP's tool-name rule (tool-names.ts), never offered on /mcp. */
  refusedTools: string[];
  /** Unix seconds of the last connect, null before the first. */
  connectedAt: number | null;
}

export interface UpstreamOptions {
  config: McpUpstreamConfig;
  log: Logger;
  /** Called whenever the lists or the state change. */
  onChange: () => void;
  /** Called when the upstream says a resource it was asked to watch changed (resources/subscribe). */
  onResourceUpdated?: (uri: string) => void;
  backoff?: Backoff;
  connectTimeoutMs?: number;
}

/** A request forwarded to the upstream and not yet answered, which the upstream's own requests may belong to (questions.ts). */
export interface Asker {
  ask(request: InputRequest): Promise<unknown>;
}

// Everything a caller may declare it can answer: what each request needs is checked against the
// caller's own capabilities when the upstream asks (questions.ts). A 2026-07-28 upstream gets the
// caller's own capabilities with each request instead (upstream-rounds.ts).
const askingCapabilities = { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} };

// A refused name comes from the upstream and may be any length: the log gets its start and its length.
const maxLoggedNameLength = 200;

const emptyLists: UpstreamLists = { tools: [], resources: [], resourceTemplates: [], prompts: [] };
const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * One upstream MCP server and the one Client that every call to it shares.
 * Connects in the background; when the connection is lost (the stdio child
 * died, the HTTP server went away), it reconnects with exponential backoff,
 * and meanwhile offers nothing.
 */
export class Upstream {
  readonly name: string;
  state: UpstreamState = "starting";
  reason: string | null = null;
  lists: UpstreamLists = emptyLists;
  refusedTools: string[] = [];
  connectedAt: number | null = null;
  /** The child's process id while a stdio upstream runs. */
  pid: number | null = null;
  /** Log notifications go to the caller of a call in flight when it is the only one (see onLog). */
  readonly callsInFlight = new Set<(notification: LoggingMessageNotification) => void>();
  /** Where each call's progress goes, by the progress token Gatehouse gave the call. */
  readonly progressRoutes = new Map<string | number, (notification: ProgressNotification) => void>();
  private progressTokens = 0;
  /** Forwarded requests in flight: the upstream's own requests go to the one, or to none (see ask). */
  readonly askers = new Set<Asker>();
  /** resources/subscribe made through Gatehouse, by URI: how many subscribers; the upstream is subscribed while any is left. */
  private readonly subscribers = new Map<string, number>();
  /** Refused tool names already logged: each is logged once, not on every list refresh or reconnect. */
  private readonly loggedRefusals = new Set<string>();
  private current: Client | null = null;
  private connected: Client | null = null;
  private failures = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly options: UpstreamOptions) {
    this.name = options.config.name;
  }

  get config(): McpUpstreamConfig {
    return this.options.config;
  }

  /** The connected client, or null (then `reason` says why). */
  client(): Client | null {
    return this.connected;
  }

  status(): UpstreamStatus {
    return {
      name: this.name,
      kind: this.config.kind,
      state: this.state,
      reason: this.reason,
      tools: this.lists.tools.length,
      refusedTools: this.refusedTools,
      connectedAt: this.connectedAt,
    };
  }

  nextProgressToken(): string {
    return `gatehouse-${++this.progressTokens}`;
  }

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.current;
    this.current = this.connected = null;
    this.state = "stopped";
    // Closing the stdio transport ends the child (stdin closed, then signals).
    await client?.close().catch(() => {});
  }

  /**
   * One more subscriber to a resource: the upstream is asked to watch it on
   * the first (its answer, an error included, goes back to the caller).
   */
  async subscribe(client: Client, uri: string, options: { signal: AbortSignal; timeout: number }): Promise<void> {
    const count = this.subscribers.get(uri) ?? 0;
    if (count === 0) await client.subscribeResource({ uri }, options);
    this.subscribers.set(uri, count + 1);
  }

  /** One subscriber fewer: the upstream stops watching with the last. Unknown URIs are a no-op, as the spec's unsubscribe is. */
  async unsubscribe(client: Client, uri: string, options: { signal: AbortSignal; timeout: number }): Promise<void> {
    const count = this.subscribers.get(uri) ?? 0;
    if (count > 1) return void this.subscribers.set(uri, count - 1);
    if (count === 0) return;
    this.subscribers.delete(uri);
    await client.unsubscribeResource({ uri }, options);
  }

  /** A call found the connection broken (HTTP has no connection to watch): reconnect. */
  connectionLost(client: Client, reason: string): void {
    this.lost(client, reason);
    void client.close().catch(() => {});
  }

  private async connect(): Promise<void> {
    const { config, log } = this.options;
    let lastStderr: string | null = null;
    const { transport, pid, exit } = upstreamTransport(config, (line) => {
      lastStderr = line;
      log.info("upstream stderr", { upstream: this.name, line });
    });
    const client = this.newClient();
    this.current = client;
    this.state = "starting";
    const withStderr = (reason: string) => {
      const how = exit();
      return reason + (how ? `: ${how}` : "") + (lastStderr ? ` (last stderr line: ${lastStderr})` : "");
    };
    client.onclose = () =>
      this.lost(
        client,
        withStderr(this.connected === client ? "the connection closed" : "it closed the connection while starting"),
      );
    client.onerror = (error) => log.warn("upstream protocol error", { upstream: this.name, error: describe(error) });
    try {
      await client.connect(transport, { timeout: this.options.connectTimeoutMs ?? 30_000 });
      const listed = await this.fetchLists(client);
      // A new connection (after a restart) watches what the last one did.
      for (const uri of this.subscribers.keys())
        await client.subscribeResource({ uri }).catch(() => this.subscribers.delete(uri));
      if (this.current !== client) return;
      const lists = { ...listed, tools: this.offerable(listed.tools) };
      Object.assign(this, { lists, connected: client, state: "connected", reason: null, pid: pid(), failures: 0 });
      this.connectedAt = Math.floor(Date.now() / 1000);
      log.info("upstream connected", {
        upstream: this.name,
        tools: lists.tools.length,
        resources: lists.resources.length,
        prompts: lists.prompts.length,
      });
      this.options.onChange();
    } catch (error) {
      this.lost(client, withStderr(describe(error)));
      void client.close().catch(() => {});
    }
  }

  private newClient(): Client {
    const refreshed = (key: "tools" | "prompts" | "resources") => (error: Error | null, items: unknown[] | null) => {
      if (error || !items || this.connected === null) return;
      this.lists = { ...this.lists, [key]: key === "tools" ? this.offerable(items as Tool[]) : items };
      this.options.log.info("upstream list changed", { upstream: this.name, list: key, count: items.length });
      this.options.onChange();
    };
    const client = new Client(
      { name: "gatehouse", version: pkg.version },
      {
        capabilities: askingCapabilities,
        // Input-required results are the caller's to answer, never fulfilled here (forward.ts).
        inputRequired: { autoFulfill: false },
        listChanged: {
          tools: { onChanged: refreshed("tools") },
          prompts: { onChanged: refreshed("prompts") },
          resources: { onChanged: refreshed("resources") },
        },
        // HTTP upstreams may speak 2026-07-28 (list_changed then comes over subscriptions/listen); stdio
        // stays on the 2025 handshake, which every server answers, without the SDK's probe process.
        ...(this.config.kind === "http" && { versionNegotiation: { mode: "auto" as const } }),
      },
    );
    client.setNotificationHandler("notifications/message", (notification) => this.onLog(notification));
    client.setNotificationHandler("notifications/resources/updated", (notification) =>
      this.options.onResourceUpdated?.(notification.params.uri),
    );
    // Replaces the SDK's own progress routing, which drops a progress read together with the
    // result (it forgets the call on the result, then dispatches the notification a tick later).
    client.setNotificationHandler("notifications/progress", (notification) =>
      this.progressRoutes.get(notification.params.progressToken)?.(notification),
    );
    for (const method of askableMethods)
      client.setRequestHandler(method, (request) => this.ask(request as InputRequest) as never);
    return client;
  }

  private async fetchLists(client: Client): Promise<UpstreamLists> {
    const caps = client.getServerCapabilities() ?? {};
    const [tools, resources, resourceTemplates, prompts] = await Promise.all([
      caps.tools ? client.listTools().then((r) => r.tools) : [],
      caps.resources ? client.listResources().then((r) => r.resources) : [],
      caps.resources
        ? client.listResourceTemplates().then(
            (r) => r.resourceTemplates,
            () => [],
          )
        : [],
      caps.prompts ? client.listPrompts().then((r) => r.prompts) : [],
    ]);
    return { tools, resources, resourceTemplates, prompts };
  }

  /**
   * The tools /mcp may offer, from a tools/list: those whose names follow
   * MCP's rule as the upstream names them and as /mcp would list them. The
   * others are kept by name for /admin/upstreams and logged the first time.
   */
  private offerable(tools: Tool[]): Tool[] {
    const { offered, refused } = splitByToolName(tools, this.config.prefix);
    this.refusedTools = refused;
    for (const name of refused) {
      if (this.loggedRefusals.has(name)) continue;
      this.loggedRefusals.add(name);
      this.options.log.warn("upstream tool refused: its name breaks MCP's tool-name rule", {
        upstream: this.name,
        tool: name.slice(0, maxLoggedNameLength),
        length: name.length,
      });
    }
    return offered;
  }

  private lost(client: Client, reason: string): void {
    if (this.stopped || this.current !== client) return;
    const wasConnected = this.connected !== null;
    this.current = this.connected = null;
    this.lists = emptyLists;
    this.refusedTools = [];
    this.pid = null;
    this.state = "failed";
    this.reason = reason;
    const delayMs = retryDelayMs(this.options.backoff ?? defaultBackoff, this.failures);
    this.failures++;
    this.options.log.warn(wasConnected ? "upstream disconnected" : "upstream failed to start", {
      upstream: this.name,
      reason,
      retry_in_ms: delayMs,
    });
    this.retry = setTimeout(() => void this.connect(), delayMs);
    this.retry.unref?.();
    if (wasConnected) this.options.onChange();
  }

  /**
   * A 2025 upstream asks its client (elicitation, sampling, roots). MCP
   * 2025 carries no link from such a request to the call it is about (none
   * at all on stdio), and this connection is shared by every caller: the
   * request goes to the caller of the one request in flight, or, with none
   * or several in flight, to nobody: the upstream gets an error.
   */
  private ask(request: InputRequest): Promise<unknown> {
    if (this.askers.size !== 1) {
      const why =
        this.askers.size === 0
          ? "no call through Gatehouse is in flight"
          : `${this.askers.size} calls through Gatehouse are in flight and it cannot tell which one the request is about`;
      this.options.log.warn("upstream request refused", { upstream: this.name, method: request.method, reason: why });
      return Promise.reject(
        new ProtocolError(ProtocolErrorCode.InvalidRequest, `Gatehouse cannot pass ${request.method} on: ${why}.`),
      );
    }
    const [asker] = this.askers;
    return asker!.ask(request);
  }

  /**
   * An upstream's log message. MCP log messages belong to the connection,
   * not to a request, and this connection is shared by every caller: one is
   * passed on only while exactly one call is in flight, so it cannot reach
   * a caller it was not meant for. Every one goes to Gatehouse's log.
   */
  private onLog(notification: LoggingMessageNotification): void {
    const { level, logger, data } = notification.params;
    this.options.log.info("upstream log", {
      upstream: this.name,
      level,
      logger,
      data: JSON.stringify(data)?.slice(0, 2000),
    });
    if (this.callsInFlight.size === 1) for (const send of this.callsInFlight) send(notification);
  }
}
