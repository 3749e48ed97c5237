import type { McpRequestContext, McpServer, RequestId } from "@modelcontextprotocol/server";
import { callerOf, type Caller } from "../mcp/caller.ts";

// A 2025 client cancels a call with a notifications/cancelled of its own
// POST. Gatehouse serves 2025 clients statelessly, so that POST reaches a
// fresh instance that never saw the call, and the SDK drops it. Forwarded
// calls of 2025 clients are therefore kept here by credential and JSON-RPC
// id, and the notification aborts the call it names. (A 2026-07-28 client
// cancels by closing the call's own stream, which the SDK turns into the
// call's abort signal.)

/**
 * The forwarded calls in flight of 2025 clients. Two in flight under one
 * credential with one id (two clients sharing an API key) are ambiguous: a
 * cancellation naming that id aborts neither.
 */
export class InFlightCalls {
  private readonly calls = new Map<string, Set<AbortController>>();

  /** Tracks a call until `release`; `signal` fires when its caller cancels it. */
  track(caller: Caller, requestId: RequestId): { signal: AbortSignal; release(): void } {
    const key = keyOf(caller, requestId);
    const controller = new AbortController();
    const same = this.calls.get(key) ?? new Set();
    same.add(controller);
    this.calls.set(key, same);
    const release = () => {
      same.delete(controller);
      if (same.size === 0 && this.calls.get(key) === same) this.calls.delete(key);
    };
    return { signal: controller.signal, release };
  }

  /** Aborts the one call of this credential with this id; false when there is none, or more than one. */
  cancel(caller: Caller, requestId: RequestId, reason: string | undefined): boolean {
    const same = this.calls.get(keyOf(caller, requestId));
    if (same?.size !== 1) return false;
    for (const controller of same) controller.abort(reason ?? "cancelled by the client");
    return true;
  }
}

// JSON-RPC ids are strings or numbers, and 1 and "1" are different ids.
const keyOf = (caller: Caller, requestId: RequestId) =>
  `${caller.via.kind}:${caller.via.id}\0${typeof requestId}:${requestId}`;

/**
 * On a 2025 serving instance, a notifications/cancelled aborts the call it
 * names among this caller's (an instance serves one POST, so the SDK's own
 * handler, which looks among the instance's requests, never finds it).
 */
export function installCancellation(server: McpServer, inFlight: InFlightCalls, context: McpRequestContext): void {
  const caller = callerOf(context.authInfo);
  if (context.era !== "legacy" || !caller) return;
  server.server.setNotificationHandler("notifications/cancelled", (notification) => {
    const { requestId, reason } = notification.params;
    if (requestId !== undefined) inFlight.cancel(caller, requestId, reason);
  });
}
