import {
  LOG_LEVEL_META_KEY,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  type Client,
  type LoggingLevel,
} from "@modelcontextprotocol/client";
import {
  inputRequired,
  isInputRequiredResult,
  type CallToolResult,
  type InputRequiredResult,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { Caller } from "../mcp/caller.ts";
import { toolError, type ToolRun } from "../mcp/tools/definition.ts";
import type { InFlightCalls } from "./cancellation.ts";
import { ForwardedCall } from "./forwarded-call.ts";
import type { RoundState, Rounds } from "./round-state.ts";
import { callerCapabilities, callerRound, upstreamRoundParams } from "./upstream-rounds.ts";
import type { Upstream } from "./upstream.ts";

// A tools/call passed on to the upstream that owns the tool: its arguments,
// a deadline, the caller's cancellation, and progress (and, see
// Upstream.onLog, log messages) passed back. Every failure is an isError
// result naming the upstream: the caller never waits past the deadline and
// Gatehouse never crashes because an upstream did. Input-required rounds
// (MCP 2026-07-28) pass through to a 2026-07-28 caller: a 2026-07-28
// upstream's own, and a 2025 upstream's requests to its client, asked as
// rounds while its call is held (held-calls.ts).

export interface Forwarding {
  upstream: Upstream;
  /** The tool's name at the upstream (without the prefix). */
  name: string;
  /** The tool's name on /mcp, which a round's state is bound to. */
  tool: string;
  timeoutMs: number;
  /** Where a 2025 caller's cancellation finds the call (cancellation.ts). */
  inFlight: InFlightCalls;
  rounds: Rounds;
}

/** Why a call could not be answered, in words for the caller; null when the caller cancelled it. */
export function failureOf(
  upstream: Upstream,
  what: string,
  timeoutMs: number,
  error: unknown,
  signal: AbortSignal,
): string | null {
  if (signal.aborted) return null;
  if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
    return `upstream ${upstream.name} did not answer ${what} within ${timeoutMs / 1000} s`;
  }
  if (error instanceof SdkError && error.code === SdkErrorCode.ConnectionClosed) {
    return `upstream ${upstream.name} closed the connection during ${what}`;
  }
  if (error instanceof ProtocolError) return `upstream ${upstream.name} refused ${what}: ${error.message}`;
  return `upstream ${upstream.name} failed during ${what}: ${error instanceof Error ? error.message : String(error)}`;
}

export type UpstreamClient = { ok: true; client: Client } | { ok: false; reason: string };

const notConnected = (upstream: Upstream) =>
  `upstream ${upstream.name} is not connected: ${upstream.reason ?? "it is still starting"}`;

/** The connected client (of the first instance), or the reason there is none. */
export function clientOf(upstream: Upstream): UpstreamClient {
  const client = upstream.client();
  return client ? { ok: true, client } : { ok: false, reason: notConnected(upstream) };
}

/** True for failures of the connection itself (not of the call), after which an HTTP upstream is reconnected. */
function brokeTheConnection(error: unknown): boolean {
  if (error instanceof SdkError)
    return error.code === SdkErrorCode.ConnectionClosed || error.code === SdkErrorCode.SendFailed;
  // fetch's own failure: nothing listens at the URL any more.
  return error instanceof TypeError;
}

/**
 * A 2026-07-28 upstream logs during a request only at the level the request
 * carries: the caller's own (2026-07-28 caller), or everything for a 2025
 * caller, whose level (if it set one) Gatehouse applies on the way back.
 * A 2025 upstream logs on its connection at the level it was given: all.
 */
function upstreamLogLevel(client: Client, ctx: ServerContext): Record<string, LoggingLevel> {
  if (client.getProtocolEra() !== "modern") return {};
  // The SDK has validated the envelope; its type does not name the keys.
  const envelope = ctx.mcpReq.envelope as Record<string, LoggingLevel | undefined> | undefined;
  const level = envelope ? envelope[LOG_LEVEL_META_KEY] : "debug";
  return level === undefined ? {} : { [LOG_LEVEL_META_KEY]: level };
}

export async function forwardToolCall(
  call: Forwarding,
  caller: Caller,
  args: unknown,
  ctx: ServerContext,
): Promise<ToolRun> {
  const { upstream, name, timeoutMs } = call;
  // Verified before this handler runs (round-state.ts): sealed for this caller, unexpired, its held call still held.
  const state = ctx.mcpReq.requestState<RoundState>() ?? null;
  // The retry must name the tool its round was for, so the permission checked on the retry is that tool's.
  if (state !== null && state.target !== call.tool)
    return { result: toolError(`This requestState belongs to a round of ${state.target}, not of ${call.tool}.`) };
  // A 2025 request cannot be asked anything (it is served statelessly): the held call stays for its own client.
  if (state !== null && ctx.mcpReq.envelope === undefined)
    return { result: toolError("Input-required rounds are answered by 2026-07-28 clients only.") };
  if (state?.kind === "held") return continueHeldCall(call, caller, state.id, ctx);
  // The instance with the fewest calls in flight (one unless the config sets `instances`).
  const instance = upstream.callInstance();
  const client = instance?.client();
  if (!instance || !client) return { result: toolError(notConnected(upstream)) };
  // A 2026-07-28 caller declares on each request what it can answer; a 2025 caller can answer nothing.
  const capabilities = callerCapabilities(ctx);
  // A 2025 request (no envelope) is cancelled by a separate notification; see cancellation.ts.
  const tracked = capabilities === null ? call.inFlight.track(caller, ctx.mcpReq.id) : null;
  // A 2026-07-28 upstream asks only what the caller declared, and gets its round's answers back.
  const round = upstreamRoundParams(client, ctx, state);
  const _meta = { ...upstreamLogLevel(client, ctx), ...round._meta };
  const params = {
    name,
    arguments: (args ?? {}) as Record<string, unknown>,
    ...round,
    ...(Object.keys(_meta).length > 0 && { _meta }),
  };
  const forwarded = new ForwardedCall(upstream, instance, client, {
    params,
    timeoutMs,
    capabilities,
    wantsProgress: ctx.mcpReq._meta?.progressToken !== undefined,
  });
  try {
    return await awaitCall(
      call,
      caller,
      forwarded,
      ctx,
      tracked ? AbortSignal.any([ctx.mcpReq.signal, tracked.signal]) : ctx.mcpReq.signal,
    );
  } finally {
    tracked?.release();
  }
}

/** The retry of a round in which a 2025 upstream asked: its answers go to the held call, which goes on. */
async function continueHeldCall(call: Forwarding, caller: Caller, id: string, ctx: ServerContext): Promise<ToolRun> {
  const forwarded = call.rounds.held.take(id, caller);
  // Checked before the handler ran; only a second retry of the same round, at the same moment, ends here.
  if (!forwarded)
    return { result: toolError(`This input-required round of ${call.tool} is over: it was answered already.`) };
  forwarded.questions.answer(ctx.mcpReq.inputResponses);
  return awaitCall(call, caller, forwarded, ctx, ctx.mcpReq.signal);
}

/** Waits for the call's next step as `ctx`'s answer: its result, or an input_required round. */
async function awaitCall(
  call: Forwarding,
  caller: Caller,
  forwarded: ForwardedCall,
  ctx: ServerContext,
  signal: AbortSignal,
): Promise<ToolRun> {
  const { upstream, name, timeoutMs } = call;
  const detach = forwarded.attach(ctx, signal);
  try {
    const step = await forwarded.next();
    if (step.kind === "asking") {
      const id = call.rounds.held.hold(forwarded, caller);
      return {
        result: inputRequired({
          inputRequests: step.inputRequests,
          requestState: await call.rounds.codec.mint({ kind: "held", target: call.tool, id }, ctx),
        }),
      };
    }
    if (step.ok && isInputRequiredResult(step.result)) return { result: await upstreamRound(call, step.result, ctx) };
    await forwarded.flush();
    if (step.ok) return { result: step.result as CallToolResult };
    const { error } = step;
    const failure = failureOf(upstream, `tools/call ${name}`, timeoutMs, error, forwarded.signal);
    if (failure === null) return { result: toolError(`The call to ${name} was cancelled.`), ended: "cancelled" };
    if (upstream.config.kind === "http" && brokeTheConnection(error))
      forwarded.instance.connectionLost(forwarded.client, failure);
    const timedOut = error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout;
    return { result: toolError(failure), ...(timedOut && { ended: "timeout" as const }) };
  } finally {
    detach();
  }
}

/** A 2026-07-28 upstream's round goes to a 2026-07-28 caller; a 2025 caller cannot answer one, which the upstream was told. */
function upstreamRound(
  call: Forwarding,
  round: InputRequiredResult,
  ctx: ServerContext,
): CallToolResult | Promise<InputRequiredResult> {
  if (ctx.mcpReq.envelope === undefined) {
    return toolError(
      `upstream ${call.upstream.name} asked for input during tools/call ${call.name}, which a 2025 client served statelessly cannot give.`,
    );
  }
  return callerRound(call.rounds, round, ctx, call.tool);
}
