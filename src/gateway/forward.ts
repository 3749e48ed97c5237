import { ProtocolError, SdkError, SdkErrorCode, type Client } from "@modelcontextprotocol/client";
import type { CallToolResult, ServerContext } from "@modelcontextprotocol/server";
import { toolError } from "../mcp/tools/definition.ts";
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

export async function forwardToolCall(call: Forwarding, args: unknown, ctx: ServerContext): Promise<CallToolResult> {
  const { upstream, name, timeoutMs } = call;
  const client = clientOf(upstream);
  if (typeof client === "string") return toolError(client);
  const signal = ctx.mcpReq.signal;
  const progressToken = ctx.mcpReq._meta?.progressToken;
  // Notifications are sent before the result: the last progress must not arrive after it.
  const sending = new Set<Promise<void>>();
  const send = (notification: Parameters<typeof ctx.mcpReq.notify>[0]) => {
    const sent = ctx.mcpReq.notify(notification).catch(() => {});
    sending.add(sent);
    void sent.finally(() => sending.delete(sent));
  };
  upstream.callsInFlight.add(send);
  // The upstream gets a token of ours (unique on its connection); its progress goes out under the caller's.
  const upstreamToken = progressToken === undefined ? undefined : upstream.nextProgressToken();
  if (upstreamToken !== undefined) {
    upstream.progressRoutes.set(upstreamToken, (n) => send({ method: "notifications/progress", params: { ...n.params, progressToken: progressToken! } }));
  }
  try {
    const params = { name, arguments: (args ?? {}) as Record<string, unknown>, ...(upstreamToken !== undefined && { _meta: { progressToken: upstreamToken } }) };
    const result = await client.callTool(params, { signal, timeout: timeoutMs });
    // The SDK dispatches notifications read together with the result a tick after resolving it.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(sending);
    return result as CallToolResult;
  } catch (error) {
    const failure = failureOf(upstream, `tools/call ${name}`, timeoutMs, error, signal);
    if (failure === null) return toolError(`The call to ${name} was cancelled.`);
    if (upstream.config.kind === "http" && brokeTheConnection(error)) upstream.connectionLost(client, failure);
    return toolError(failure);
  } finally {
    upstream.callsInFlight.delete(send);
    if (upstreamToken !== undefined) upstream.progressRoutes.delete(upstreamToken);
  }
}
