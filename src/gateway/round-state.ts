import { createRequestStateCodec, type RequestStateCodec, type ServerContext } from "@modelcontextprotocol/server";
import { randomBytes } from "node:crypto";
import { callerOf } from "../mcp/caller.ts";
import type { HeldCalls } from "./held-calls.ts";

// The requestState Gatehouse hands a 2026-07-28 client with an
// input_required result (MCP 2026-07-28, basic/patterns/mrtr). It comes back
// from the client, so it is sealed: HMAC-SHA-256 (the SDK's
// createRequestStateCodec) under a key made when the process starts, bound
// to the method and to the credential (API key or connection) that got it.
// A state another credential echoes, a tampered or an expired one is refused
// by the SDK before any handler runs: JSON-RPC -32602 "Invalid or expired
// requestState". The codec signs, it does not encrypt: the client can read
// what is inside (an upstream's own state, which a direct client would hold
// anyway, or the random id of a held call), never change it.

/**
 * What a round's requestState carries: what the round is about (`target`:
 * the tool's name on /mcp, the prompt's name or the resource's URI; the
 * method is in the seal's binding), and how the request goes on.
 */
export type RoundState =
  /** A 2026-07-28 upstream's own round: its requestState, passed back on the retry. */
  | { kind: "upstream"; target: string; state: string }
  /** A 2025 upstream's call held open while the client answers its request (held-calls.ts). */
  | { kind: "held"; target: string; id: string };

/** Where input-required rounds are kept: the seal of their requestState and the held calls of 2025 upstreams. */
export interface Rounds {
  codec: RequestStateCodec<RoundState>;
  held: HeldCalls;
}

/**
 * The key lives only in this process, as held calls do: a retry must reach
 * the instance that answered the round (docs/gateway.md, "Input-required rounds": several instances).
 */
export function createRoundStateCodec(ttlSeconds: number): RequestStateCodec<RoundState> {
  return createRequestStateCodec<RoundState>({
    key: randomBytes(32),
    ttlSeconds,
    bind: (ctx) => {
      const caller = callerOf(ctx.http?.authInfo);
      // No caller (outside /mcp's bearer check) binds to nothing a caller can present.
      return `${ctx.mcpReq.method}\0${caller ? `${caller.via.kind}:${caller.via.id}` : randomBytes(16).toString("hex")}`;
    },
  });
}

/**
 * The SDK's requestState check (ServerOptions.requestState.verify), run
 * before any handler: the seal, and for a held call that it is still held
 * for this caller. Every refusal is JSON-RPC -32602 "Invalid or expired
 * requestState" with data.reason invalid_request_state; the reason thrown
 * here goes to Gatehouse's log only.
 */
export async function verifyRoundState(rounds: Rounds, state: string, ctx: ServerContext): Promise<RoundState> {
  const payload = await rounds.codec.verify(state, ctx);
  const caller = callerOf(ctx.http?.authInfo);
  if (payload.kind === "held" && (!caller || !rounds.held.holds(payload.id, caller))) {
    throw new Error("the held call of this round is over: it ended, timed out, or the round was answered already");
  }
  return payload;
}
