import type {
  Client,
  ClientOptions,
  ProgressNotification,
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  Tool,
} from "@modelcontextprotocol/client";
import type { Logger } from "../log.ts";
import type { Backoff } from "./backoff.ts";
import type { McpUpstreamConfig } from "./config.ts";
import { splitByToolName } from "./tool-names.ts";
import { type Asker, type InstanceState, UpstreamInstance } from "./upstream-instance.ts";

export type UpstreamState = InstanceState;

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
  /** Why it is not connected (or last was not, or, with several instances, why one is not), null when it never failed. */
  reason: string | null;
  tools: number;
  /** Names of the tools its last tools/list offered that break MCP's tool-name rule (tool-names.ts), never offered on /mcp. */
  refusedTools: string[];
  /** Unix seconds of the last connect, null before the first. */
  connectedAt: number | null;
  /** A stdio upstream with `instances` above 1: how many of its processes run. */
  instances?: { running: number; configured: number };
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

export type { Asker };

// A refused name comes from the upstream and may be any length: the log gets its start and its length.
const maxLoggedNameLength = 200;

const emptyLists: UpstreamLists = { tools: [], resources: [], resourceTemplates: [], prompts: [] };

/**
 * One upstream MCP server: one connection (an HTTP server, a stdio child)
 * that every call shares, or for a stdio upstream with `instances = N`, N
 * children of the same command. Each connects in the background and, when
 * lost, reconnects with exponential backoff. The first instance is the one
 * Gatehouse lists tools, resources and prompts from, and the one that
 * serves everything but tools/call (resources, prompts, completion,
 * subscriptions); tools/call goes to the instance with the fewest calls in
 * flight. The upstream offers its tools while any instance is connected,
 * and nothing while none is.
 */
export class Upstream {
  readonly name: string;
  lists: UpstreamLists = emptyLists;
  refusedTools: string[] = [];
  /** Where each call's progress goes, by the progress token Gatehouse gave the call (unique across instances). */
  readonly progressRoutes = new Map<string | number, (notification: ProgressNotification) => void>();
  private progressTokens = 0;
  /** resources/subscribe made through Gatehouse, by URI: how many subscribers; the upstream is subscribed while any is left. */
  private readonly subscribers = new Map<string, number>();
  /** Refused tool names already logged: each is logged once, not on every list refresh or reconnect. */
  private readonly loggedRefusals = new Set<string>();
  private readonly instances: UpstreamInstance[];
  /** Where the search for the least busy instance starts, turning, so that ties are spread too. */
  private nextCall = 0;
  private stopped = false;

  constructor(private readonly options: UpstreamOptions) {
    this.name = options.config.name;
    const count = options.config.kind === "stdio" ? options.config.instances : 1;
    const hooks = {
      config: options.config,
      log: options.log,
      ...(options.backoff && { backoff: options.backoff }),
      ...(options.connectTimeoutMs !== undefined && { connectTimeoutMs: options.connectTimeoutMs }),
      configure: (client: Client, instance: UpstreamInstance) => this.configure(client, instance),
      listChanged: (instance: UpstreamInstance) => this.listChanged(instance),
      ready: (client: Client, instance: UpstreamInstance) => this.ready(client, instance),
      changed: (instance: UpstreamInstance, wasConnected: boolean) => this.changed(instance, wasConnected),
    };
    this.instances = Array.from({ length: count }, (_, index) => new UpstreamInstance(hooks, index, count));
  }

  get config(): McpUpstreamConfig {
    return this.options.config;
  }

  private get first(): UpstreamInstance {
    return this.instances[0]!;
  }

  /** connected while any instance is (with the lists the first one gave); otherwise the first one's state. */
  get state(): UpstreamState {
    if (this.stopped) return "stopped";
    return this.instances.some((i) => i.state === "connected") && this.lists !== emptyLists
      ? "connected"
      : this.first.state;
  }

  /** Why the first instance, or else another one, is not connected; null while all are. */
  get reason(): string | null {
    return this.instances.find((i) => i.state !== "connected" && i.reason !== null)?.reason ?? null;
  }

  /** The first instance's process id while it runs (stdio). */
  get pid(): number | null {
    return this.first.pid;
  }

  /** Every instance's process id while it runs, in instance order (stdio). */
  pids(): (number | null)[] {
    return this.instances.map((i) => i.pid);
  }

  /** The requests in flight on the first instance's connection (which serves everything but tools/call). */
  get askers(): Set<Asker> {
    return this.first.askers;
  }

  /** The first instance's connected client (resources, prompts, completion, subscriptions), or null (then `reason` says why). */
  client(): Client | null {
    return this.first.client();
  }

  /** The connected instance a tools/call goes to: the one with the fewest calls in flight; null when none is connected. */
  callInstance(): UpstreamInstance | null {
    let best: UpstreamInstance | null = null;
    const count = this.instances.length;
    for (let step = 0; step < count; step++) {
      const instance = this.instances[(this.nextCall + step) % count]!;
      if (instance.client() !== null && (best === null || instance.askers.size < best.askers.size)) best = instance;
    }
    this.nextCall = (this.nextCall + 1) % count;
    return best;
  }

  status(): UpstreamStatus {
    const connectedAt = Math.max(0, ...this.instances.map((i) => i.connectedAt ?? 0));
    const count = this.instances.length;
    return {
      name: this.name,
      kind: this.config.kind,
      state: this.state,
      reason: this.reason,
      tools: this.lists.tools.length,
      refusedTools: this.refusedTools,
      connectedAt: connectedAt === 0 ? null : connectedAt,
      ...(count > 1 && {
        instances: { running: this.instances.filter((i) => i.state === "connected").length, configured: count },
      }),
    };
  }

  nextProgressToken(): string {
    return `gatehouse-${++this.progressTokens}`;
  }

  start(): void {
    for (const instance of this.instances) instance.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.instances.map((i) => i.stop()));
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

  /** Handlers on every instance's client; list changes and resource updates are the first instance's only. */
  private configure(client: Client, instance: UpstreamInstance): void {
    // Replaces the SDK's own progress routing, which drops a progress read together with the
    // result (it forgets the call on the result, then dispatches the notification a tick later).
    client.setNotificationHandler("notifications/progress", (notification) =>
      this.progressRoutes.get(notification.params.progressToken)?.(notification),
    );
    if (instance !== this.first) return;
    client.setNotificationHandler("notifications/resources/updated", (notification) =>
      this.options.onResourceUpdated?.(notification.params.uri),
    );
  }

  /** The first instance follows the upstream's list changes (MCP list_changed); the others' lists are not read. */
  private listChanged(instance: UpstreamInstance): ClientOptions["listChanged"] {
    if (instance !== this.first) return undefined;
    const refreshed = (key: "tools" | "prompts" | "resources") => (error: Error | null, items: unknown[] | null) => {
      if (error || !items || this.first.client() === null) return;
      this.lists = { ...this.lists, [key]: key === "tools" ? this.offerable(items as Tool[]) : items };
      this.options.log.info("upstream list changed", { upstream: this.name, list: key, count: items.length });
      this.options.onChange();
    };
    return {
      tools: { onChanged: refreshed("tools") },
      prompts: { onChanged: refreshed("prompts") },
      resources: { onChanged: refreshed("resources") },
    };
  }

  /** The first instance, once connected, fetches the lists and watches what the last connection did; the others just serve. */
  private async ready(client: Client, instance: UpstreamInstance): Promise<void> {
    if (instance !== this.first) return;
    const listed = await this.fetchLists(client);
    for (const uri of this.subscribers.keys())
      await client.subscribeResource({ uri }).catch(() => this.subscribers.delete(uri));
    this.lists = { ...listed, tools: this.offerable(listed.tools) };
  }

  private changed(instance: UpstreamInstance, wasConnected: boolean): void {
    if (this.stopped) return;
    if (instance.state === "connected") {
      const { lists } = this;
      if (instance === this.first)
        this.options.log.info("upstream connected", {
          upstream: this.name,
          tools: lists.tools.length,
          resources: lists.resources.length,
          prompts: lists.prompts.length,
        });
      this.options.onChange();
      return;
    }
    // Nothing left to serve with: the upstream offers nothing until the first instance lists again.
    if (!this.instances.some((i) => i.state === "connected") && this.lists !== emptyLists) {
      this.lists = emptyLists;
      this.refusedTools = [];
      this.options.onChange();
    } else if (wasConnected) this.options.onChange();
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
}
