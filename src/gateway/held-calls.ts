import { randomBytes } from "node:crypto";
import type { Caller } from "../mcp/caller.ts";
import type { ForwardedCall } from "./forwarded-call.ts";

// Calls of 2025 upstreams waiting for their caller to answer what the
// upstream asked, by a random id that goes to the caller sealed in the
// round's requestState (round-state.ts). In memory only: a call is held
// while it is in flight at the upstream, and it ends, taking its entry with
// it, when the upstream answers or the tool timeout (GATEHOUSE_TOOL_TIMEOUT,
// counted from the call's start) passes.

const credentialOf = (caller: Caller) => `${caller.via.kind}:${caller.via.id}`;

export class HeldCalls {
  private readonly held = new Map<string, { call: ForwardedCall; credential: string }>();

  /** Holds `call` for `caller` until taken or ended; the id names this round only. */
  hold(call: ForwardedCall, caller: Caller): string {
    const id = randomBytes(16).toString("base64url");
    this.held.set(id, { call, credential: credentialOf(caller) });
    void call.outcome.finally(() => this.held.delete(id));
    return id;
  }

  /** True while `caller`'s call `id` is held (the check before a retry's handler runs, round-state.ts). */
  holds(id: string, caller: Caller): boolean {
    return this.held.get(id)?.credential === credentialOf(caller);
  }

  /**
   * The held call, taken out (a second retry of the same round finds
   * nothing); null when the id is unknown, its call ended, or another
   * credential holds it (the seal's binding already refuses that).
   */
  take(id: string, caller: Caller): ForwardedCall | null {
    const entry = this.held.get(id);
    if (!entry || entry.credential !== credentialOf(caller)) return null;
    this.held.delete(id);
    return entry.call;
  }
}
