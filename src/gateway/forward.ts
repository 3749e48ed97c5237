import { LOG_LEVEL_META_KEY, ProtocolError, SdkError, SdkErrorCode, type Client, type LoggingLevel, type LoggingMessageNotification } from "@modelcontextprotocol/client";
import type { CallToolResult, ServerContext } from "@modelcontextprotocol/server";
import { withAuditOutcome } from "../audit/tool-calls.ts";
import type { Caller } from "../mcp/caller.ts";
import { toolError } from "../mcp/tools/definition.ts";
import type { InFlightCalls } from "./cancellation.ts";
import type { Upstream } from "./upstream.ts";

// A tools/call passed on to the upstream that owns the tool: its arguments,
// a deadline, the caller's cancellation, and progress (and, see
// Upstream.onLog, log messages) passed back. Every failure is an isError
// result naming the upstream: the caller never waits past the deadline and
// Gatehouse never crashes because an upstream did.

export interface Forwarding {
  upstream: Upstream;
  /** The tool's name at the upstream (without the prefix). */
  name: string;
  timeoutMs: number;
  /** Where a 2025 caller's cancellation finds the call (cancellation.ts). */
  inFlight: InFlightCalls;
}

/** Why a call could not be answered, in words for the caller; null when the caller cancelled it. */
export function failureOf(upstream: Upstream, what: string, timeoutMs: number, error: unknown, signal: AbortSignal): string | null {
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

/** The connected client, or the reason there is none. */
export function clientOf(upstream: Upstream): Client | string {
  return upstream.client() ?? `upstream ${upstream.name} is not connected: ${upstream.reason ?? "it is still starting"}`;
}

/** True for failures of the connection itself (not of the call), after which an HTTP upstream is reconnected. */
function brokeTheConnection(error: unknown): boolean {
  if (error instanceof SdkError) return error.code === SdkErrorCode.ConnectionClosed || error.code === SdkErrorCode.SendFailed;
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

export async function forwardToolCall(call: Forwarding, caller: Caller, args: unknown, ctx: ServerContext): Promise<CallToolResult> {
  const { upstream, name, timeoutMs } = call;
  const client = clientOf(upstream);
  if (typeof client === "string") return toolError(client);
  // A 2025 request (no envelope) is cancelled by a separate notification; see cancellation.ts.
  const tracked = ctx.mcpReq.envelope === undefined ? call.inFlight.track(caller, ctx.mcpReq.id) : null;
  const signal = tracked ? AbortSignal.any([ctx.mcpReq.signal, tracked.signal]) : ctx.mcpReq.signal;
  const progressToken = ctx.mcpReq._meta?.progressToken;
  // Notifications are sent before the result: the last progress must not arrive after it.
  const sending = new Set<Promise<void>>();
  const track = (sent: Promise<void>) => {
    const settled = sent.catch(() => {});
    sending.add(settled);
    void settled.finally(() => sending.delete(settled));
  };
  // Log messages go out through the SDK's log, which applies the level the caller chose
  // (logging/setLevel, or the 2026-07-28 request's own level: none chosen, none sent).
  const sendLog = (n: LoggingMessageNotification) => track(ctx.mcpReq.log(n.params.level, n.params.data, n.params.logger));
  upstream.callsInFlight.add(sendLog);
  // The upstream gets a token of ours (unique on its connection); its progress goes out under the caller's.
  const upstreamToken = progressToken === undefined ? undefined : upstream.nextProgressToken();
  if (upstreamToken !== undefined) {
    upstream.progressRoutes.set(upstreamToken, (n) => track(ctx.mcpReq.notify({ method: "notifications/progress", params: { ...n.params, progressToken: progressToken! } })));
  }
  try {
    const _meta = { ...(upstreamToken !== undefined && { progressToken: upstreamToken }), ...upstreamLogLevel(client, ctx) };
    const params = { name, arguments: (args ?? {}) as Record<string, unknown>, ...(Object.keys(_meta).length > 0 && { _meta }) };
    const result = await client.callTool(params, { signal, timeout: timeoutMs });
    // The SDK dispatches notifications read together with the result a tick after resolving it.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(sending);
    return result as CallToolResult;
  } catch (error) {
    const failure = failureOf(upstream, `tools/call ${name}`, timeoutMs, error, signal);
    if (failure === null) return withAuditOutcome(toolError(`The call to ${name} was cancelled.`), "cancelled");
    if (upstream.config.kind === "http" && brokeTheConnection(error)) upstream.connectionLost(client, failure);
    const timedOut = error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout;
    return timedOut ? withAuditOutcome(toolError(failure), "timeout") : toolError(failure);
  } finally {
    tracked?.release();
    upstream.callsInFlight.delete(sendLog);
    if (upstreamToken !== undefined) upstream.progressRoutes.delete(upstreamToken);
  }
}
