import {
  Client,
  type ClientOptions,
  ProtocolError,
  ProtocolErrorCode,
  type InputRequest,
  type LoggingMessageNotification,
} from "@modelcontextprotocol/client";
import pkg from "../../package.json";
import type { Logger } from "../log.ts";
import { defaultBackoff, retryDelayMs, type Backoff } from "./backoff.ts";
import type { McpUpstreamConfig } from "./config.ts";
import { askableMethods } from "./questions.ts";
import type { OwnRequests } from "./own-requests.ts";
import { upstreamTransport } from "./transport.ts";

// One connection to an upstream MCP server: for stdio, one child process.
// An upstream has one, or `instances` of them (config.ts), each connecting,
// failing and reconnecting with backoff on its own (upstream.ts).

export type InstanceState = "starting" | "connected" | "failed" | "stopped";

/** A request forwarded to the upstream and not yet answered, which the upstream's own requests may belong to (questions.ts). */
export interface Asker {
  ask(request: InputRequest): Promise<unknown>;
}

export interface InstanceHooks {
  config: McpUpstreamConfig;
  log: Logger;
  backoff?: Backoff;
  connectTimeoutMs?: number;
  /** What the instance's client does on the upstream's list changes (MCP list_changed). */
  listChanged(instance: UpstreamInstance): ClientOptions["listChanged"];
  /** Sets the handlers every instance's client shares (progress, lists changed, resources updated). */
  configure(client: Client, instance: UpstreamInstance): void;
  /** The handshake is done: what must happen before the instance serves (the first fetches the lists). */
  ready(client: Client, instance: UpstreamInstance): Promise<void>;
  /** Its state changed. */
  changed(instance: UpstreamInstance, wasConnected: boolean): void;
}

// Everything a caller may declare it can answer: what each request needs is checked against the
// caller's own capabilities when the upstream asks (questions.ts). A 2026-07-28 upstream gets the
// caller's own capabilities with each request instead (upstream-rounds.ts).
const askingCapabilities = { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} };

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class UpstreamInstance {
  state: InstanceState = "starting";
  reason: string | null = null;
  connectedAt: number | null = null;
  /** The child's process id while a stdio upstream runs. */
  pid: number | null = null;
  /** Log notifications go to the caller of a call in flight when it is the only one (see onLog). */
  readonly callsInFlight = new Set<(notification: LoggingMessageNotification) => void>();
  /** Requests forwarded on this connection and in flight: the upstream's own requests go to the one, or to none (see ask). */
  readonly askers = new Set<Asker>();
  private current: Client | null = null;
  private connected: Client | null = null;
  /** The connected stdio pipe's own requests (own-requests.ts); null for HTTP and while not connected. */
  private ownRequests: OwnRequests | null = null;
  private failures = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    private readonly hooks: InstanceHooks,
    /** 0 for the first; in logs and reasons as "instance <n+1> of <count>" when there are several. */
    readonly index: number,
    private readonly count: number,
  ) {}

  /** The connected client, or null (then `reason` says why). */
  client(): Client | null {
    return this.connected;
  }

  /** Where a forwarded call goes on the connected client's own pipe, without it (stdio only). */
  own(client: Client): OwnRequests | null {
    return client === this.connected ? this.ownRequests : null;
  }

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.current;
    this.current = this.connected = null;
    this.ownRequests = null;
    this.state = "stopped";
    // Closing the stdio transport ends the child (stdin closed, then signals).
    await client?.close().catch(() => {});
  }

  /** A call found the connection broken (HTTP has no connection to watch): reconnect. */
  connectionLost(client: Client, reason: string): void {
    this.lost(client, reason);
    void client.close().catch(() => {});
  }

  private get name(): string {
    return this.hooks.config.name;
  }

  /** Log fields naming this instance when there are several. */
  private get which(): { instance?: number } {
    return this.count > 1 ? { instance: this.index + 1 } : {};
  }

  private async connect(): Promise<void> {
    const { config, log } = this.hooks;
    let lastStderr: string | null = null;
    const { transport, pid, exit, own } = upstreamTransport(config, (line) => {
      lastStderr = line;
      log.info("upstream stderr", { upstream: this.name, ...this.which, line });
    });
    const client = this.newClient();
    this.current = client;
    this.state = "starting";
    const withStderr = (reason: string) => {
      const how = exit();
      const instance = this.count > 1 ? `instance ${this.index + 1} of ${this.count}: ` : "";
      return instance + reason + (how ? `: ${how}` : "") + (lastStderr ? ` (last stderr line: ${lastStderr})` : "");
    };
    client.onclose = () =>
      this.lost(
        client,
        withStderr(this.connected === client ? "the connection closed" : "it closed the connection while starting"),
      );
    client.onerror = (error) =>
      log.warn("upstream protocol error", { upstream: this.name, ...this.which, error: describe(error) });
    try {
      await client.connect(transport, { timeout: this.hooks.connectTimeoutMs ?? 30_000 });
      await this.hooks.ready(client, this);
      if (this.current !== client) return;
      Object.assign(this, {
        connected: client,
        ownRequests: own,
        state: "connected",
        reason: null,
        pid: pid(),
        failures: 0,
      });
      this.connectedAt = Math.floor(Date.now() / 1000);
      this.hooks.changed(this, false);
    } catch (error) {
      this.lost(client, withStderr(describe(error)));
      void client.close().catch(() => {});
    }
  }

  private newClient(): Client {
    const client = new Client(
      { name: "gatehouse", version: pkg.version },
      {
        capabilities: askingCapabilities,
        // Input-required results are the caller's to answer, never fulfilled here (forward.ts).
        inputRequired: { autoFulfill: false },
        listChanged: this.hooks.listChanged(this),
        // HTTP upstreams may speak 2026-07-28 (list_changed then comes over subscriptions/listen); stdio
        // stays on the 2025 handshake, which every server answers, without the SDK's probe process.
        ...(this.hooks.config.kind === "http" && { versionNegotiation: { mode: "auto" as const } }),
      },
    );
    client.setNotificationHandler("notifications/message", (notification) => this.onLog(notification));
    for (const method of askableMethods)
      client.setRequestHandler(method, (request) => this.ask(request as InputRequest) as never);
    this.hooks.configure(client, this);
    return client;
  }

  private lost(client: Client, reason: string): void {
    if (this.stopped || this.current !== client) return;
    const wasConnected = this.connected !== null;
    this.current = this.connected = null;
    this.ownRequests = null;
    this.pid = null;
    this.state = "failed";
    this.reason = reason;
    const delayMs = retryDelayMs(this.hooks.backoff ?? defaultBackoff, this.failures);
    this.failures++;
    this.hooks.log.warn(wasConnected ? "upstream disconnected" : "upstream failed to start", {
      upstream: this.name,
      ...this.which,
      reason,
      retry_in_ms: delayMs,
    });
    this.retry = setTimeout(() => void this.connect(), delayMs);
    this.retry.unref?.();
    this.hooks.changed(this, wasConnected);
  }

  /**
   * A 2025 upstream asks its client (elicitation, sampling, roots). MCP
   * 2025 carries no link from such a request to the call it is about (none
   * at all on stdio), and this connection is shared by every caller: the
   * request goes to the caller of the one request in flight on it, or, with
   * none or several in flight, to nobody: the upstream gets an error.
   */
  private ask(request: InputRequest): Promise<unknown> {
    if (this.askers.size !== 1) {
      const why =
        this.askers.size === 0
          ? "no call through Gatehouse is in flight"
          : `${this.askers.size} calls through Gatehouse are in flight and it cannot tell which one the request is about`;
      this.hooks.log.warn("upstream request refused", {
        upstream: this.name,
        ...this.which,
        method: request.method,
        reason: why,
      });
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
   * passed on only while exactly one call is in flight on it, so it cannot
   * reach a caller it was not meant for. Every one goes to Gatehouse's log.
   */
  private onLog(notification: LoggingMessageNotification): void {
    const { level, logger, data } = notification.params;
    this.hooks.log.info("upstream log", {
      upstream: this.name,
      ...this.which,
      level,
      logger,
      data: JSON.stringify(data)?.slice(0, 2000),
    });
    if (this.callsInFlight.size === 1) for (const send of this.callsInFlight) send(notification);
  }
}
