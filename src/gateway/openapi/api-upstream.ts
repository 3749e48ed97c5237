import type { Logger } from "../../log.ts";
import { defaultBackoff, retryDelayMs, type Backoff } from "../backoff.ts";
import { matches } from "../classify.ts";
import type { OpenApiUpstreamConfig } from "../config.ts";
import { splitByToolName } from "../tool-names.ts";
import type { UpstreamState, UpstreamStatus } from "../upstream.ts";
import { secretsOf, type ApiTarget } from "./call.ts";
import { loadDocument } from "./document.ts";
import { operationsOf, type Operation } from "./operations.ts";

export interface ApiUpstreamOptions {
  config: OpenApiUpstreamConfig;
  log: Logger;
  /** Called when the operations or the state change. */
  onChange: () => void;
  backoff?: Backoff;
}

/**
 * A REST API described by an OpenAPI document: its operations, each a tool.
 * The document is read in the background; one that cannot be read or parsed
 * leaves the upstream failed with the reason and is tried again with
 * growing delays, as an MCP upstream that fails to connect is. Once read, it
 * is kept until Gatehouse stops. Calls are plain HTTP requests (call.ts):
 * there is no connection to keep.
 */
export class ApiUpstream {
  readonly name: string;
  state: UpstreamState = "starting";
  reason: string | null = null;
  /** The operations offered as tools: included, not excluded, named by MCP's tool-name rule. */
  operations: Operation[] = [];
  refusedTools: string[] = [];
  /** Unix seconds of the document's successful load, null before it. */
  connectedAt: number | null = null;
  /** Where calls go and with which headers; null until the document is read. */
  target: ApiTarget | null = null;
  private failures = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly options: ApiUpstreamOptions) {
    this.name = options.config.name;
  }

  get config(): OpenApiUpstreamConfig {
    return this.options.config;
  }

  status(): UpstreamStatus {
    const { name, state, reason, refusedTools, connectedAt } = this;
    return { name, kind: "openapi", state, reason, tools: this.operations.length, refusedTools, connectedAt };
  }

  start(): void {
    void this.attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.state = "stopped";
  }

  /** One load; a document that breaks the parser in a way it does not report is a failure like any other. */
  private async attempt(): Promise<void> {
    try {
      await this.load();
    } catch (error) {
      if (!this.stopped)
        this.failed(`cannot read the OpenAPI document: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async load(): Promise<void> {
    const { config, log } = this.options;
    const loaded = await loadDocument(config);
    if (this.stopped) return;
    if (!loaded.ok) return this.failed(loaded.reason);
    const headerNames = new Set(Object.keys(config.headers).map((name) => name.toLowerCase()));
    const { operations, leftOut } = operationsOf(loaded.document, headerNames);
    for (const { name, reason } of leftOut)
      log.warn("openapi operation left out", { upstream: this.name, operation: name, reason });
    const chosen = operations.filter(
      (op) => (config.include.length === 0 || matches(config.include, op.name)) && !matches(config.exclude, op.name),
    );
    const { offered, refused } = splitByToolName(chosen, config.prefix);
    for (const name of refused)
      log.warn("upstream tool refused: its name breaks MCP's tool-name rule", {
        upstream: this.name,
        tool: name.slice(0, 200),
        length: name.length,
      });
    this.operations = offered;
    this.refusedTools = refused;
    this.target = {
      name: this.name,
      baseUrl: loaded.baseUrl,
      headers: config.headers,
      secrets: secretsOf(config.headers),
    };
    Object.assign(this, { state: "connected", reason: null, failures: 0, connectedAt: Math.floor(Date.now() / 1000) });
    log.info("openapi upstream loaded", {
      upstream: this.name,
      tools: offered.length,
      base_url: new URL(loaded.baseUrl).origin,
    });
    this.options.onChange();
  }

  private failed(reason: string): void {
    this.state = "failed";
    this.reason = reason;
    const delayMs = retryDelayMs(this.options.backoff ?? defaultBackoff, this.failures++);
    this.options.log.warn("openapi upstream failed to load", { upstream: this.name, reason, retry_in_ms: delayMs });
    this.retry = setTimeout(() => void this.attempt(), delayMs);
    this.retry.unref?.();
  }
}
