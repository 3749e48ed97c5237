import type {
  CallToolResult,
  Client,
  ClientCapabilities,
  InputRequiredResult,
  InputRequests,
  LoggingMessageNotification,
} from "@modelcontextprotocol/client";
import type { ServerContext } from "@modelcontextprotocol/server";
import { checkedCallResult, forwardedCallResult } from "./call-result.ts";
import { Questions } from "./questions.ts";
import type { Upstream } from "./upstream.ts";
import type { UpstreamInstance } from "./upstream-instance.ts";

// One tools/call at an upstream, from its start to its end. Usually one
// request of the caller waits on it from start to end; when a 2025 upstream
// asks the caller something, the call is held (held-calls.ts) and the
// retry that answers waits on it next. Progress and log messages go to the
// request waiting at the time, and that request's cancellation ends the call.

export type CallOutcome = { ok: true; result: CallToolResult | InputRequiredResult } | { ok: false; error: unknown };

/** What the waiting request answers next: the call's outcome, or the upstream's open requests to the caller. */
export type NextStep = ({ kind: "done" } & CallOutcome) | { kind: "asking"; inputRequests: InputRequests };

export interface CallStart {
  params: {
    name: string;
    arguments: Record<string, unknown>;
    _meta?: Record<string, unknown>;
    inputResponses?: Record<string, unknown>;
    requestState?: string;
  };
  timeoutMs: number;
  /** What the caller declared it can answer; null for a 2025 caller, who cannot be asked. */
  capabilities: ClientCapabilities | null;
  /** The caller's progress token: the upstream gets a token of Gatehouse's instead, unique on its connection. */
  wantsProgress: boolean;
}

type CallOptions = { signal: AbortSignal; timeout: number; allowInputRequired: true };

/**
 * tools/call at the upstream. A 2025 upstream's result gets Gatehouse's
 * lighter check (call-result.ts): on a stdio pipe, a call without a progress
 * token is sent by Gatehouse itself and matched by id (own-requests.ts); any
 * other through the SDK Client. A 2026-07-28 upstream's goes through
 * callTool, which also mirrors the arguments its tools declare into request
 * headers.
 */
function sendCall(instance: UpstreamInstance, client: Client, params: CallStart["params"], options: CallOptions) {
  if (client.getProtocolEra() === "modern") return client.callTool(params, options);
  const own = params._meta?.progressToken === undefined ? instance.own(client) : null;
  if (own) return own.request("tools/call", params, options).then(checkedCallResult);
  return client.request({ method: "tools/call", params }, forwardedCallResult, options);
}

export class ForwardedCall {
  readonly questions: Questions;
  readonly outcome: Promise<CallOutcome>;
  private readonly controller = new AbortController();
  private waiting: ServerContext | null = null;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    readonly upstream: Upstream,
    /** The connection the call runs on: the upstream's requests during the call come on it, and a held call stays on it. */
    readonly instance: UpstreamInstance,
    readonly client: Client,
    start: CallStart,
  ) {
    this.questions = new Questions(start.capabilities);
    // Log messages go out through the SDK's log, which applies the level the caller chose
    // (logging/setLevel, or the 2026-07-28 request's own level: none chosen, none sent).
    const sendLog = (n: LoggingMessageNotification) =>
      this.send((ctx) => ctx.mcpReq.log(n.params.level, n.params.data, n.params.logger));
    instance.callsInFlight.add(sendLog);
    instance.askers.add(this.questions);
    const upstreamToken = start.wantsProgress ? upstream.nextProgressToken() : undefined;
    if (upstreamToken !== undefined) {
      upstream.progressRoutes.set(upstreamToken, (n) =>
        this.send((ctx) => {
          const progressToken = ctx.mcpReq._meta?.progressToken;
          return progressToken === undefined
            ? Promise.resolve()
            : ctx.mcpReq.notify({ method: "notifications/progress", params: { ...n.params, progressToken } });
        }),
      );
    }
    const _meta = { ...start.params._meta, ...(upstreamToken !== undefined && { progressToken: upstreamToken }) };
    const params = { ...start.params, ...(Object.keys(_meta).length > 0 && { _meta }) };
    this.outcome = sendCall(instance, client, params, {
      signal: this.controller.signal,
      timeout: start.timeoutMs,
      allowInputRequired: true,
    })
      .then(
        (result): CallOutcome => ({ ok: true, result: result as CallToolResult | InputRequiredResult }),
        (error: unknown): CallOutcome => ({ ok: false, error }),
      )
      .finally(() => {
        instance.callsInFlight.delete(sendLog);
        instance.askers.delete(this.questions);
        if (upstreamToken !== undefined) upstream.progressRoutes.delete(upstreamToken);
        this.questions.close(`the call to ${start.params.name} has ended`);
      });
  }

  /** Fires when a waiting request cancels the call. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * `ctx` now waits on the call: it gets the call's progress and log
   * messages, and `signal` firing (the request's own, or a 2025 caller's
   * cancellation) cancels the call at the upstream. Returns the detach.
   */
  attach(ctx: ServerContext, signal: AbortSignal): () => void {
    this.waiting = ctx;
    const cancel = () => this.controller.abort(signal.reason);
    if (signal.aborted) cancel();
    signal.addEventListener("abort", cancel);
    return () => {
      signal.removeEventListener("abort", cancel);
      if (this.waiting === ctx) this.waiting = null;
    };
  }

  async next(): Promise<NextStep> {
    return Promise.race([
      this.outcome.then((outcome): NextStep => ({ kind: "done", ...outcome })),
      this.questions.pending().then((inputRequests): NextStep => ({ kind: "asking", inputRequests })),
    ]);
  }

  /** Waits until the notifications sent so far are out: the last progress must not arrive after the result. */
  async flush(): Promise<void> {
    // The SDK dispatches notifications read together with the result a tick after resolving it.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(this.sending);
  }

  private send(deliver: (ctx: ServerContext) => Promise<void>): void {
    if (this.waiting === null) return; // Between rounds nobody listens: the message is dropped.
    const settled = deliver(this.waiting).catch(() => {});
    this.sending.add(settled);
    void settled.finally(() => this.sending.delete(settled));
  }
}
