import {
  CLIENT_CAPABILITIES_META_KEY,
  type Client,
  type ClientCapabilities,
  type InputRequiredResult,
} from "@modelcontextprotocol/client";
import type { ServerContext } from "@modelcontextprotocol/server";
import type { RoundState, Rounds } from "./round-state.ts";

// A 2026-07-28 upstream's own input-required rounds (tools/call,
// prompts/get, resources/read), passed through to a 2026-07-28 caller: the
// upstream hears on each request what the caller can answer, gets a
// retried round's answers and its own state back, and its input_required
// goes to the caller with that state sealed in Gatehouse's (round-state.ts).

/** What a 2026-07-28 caller declared on this request it can answer; null for a 2025 caller (no envelope). */
export function callerCapabilities(ctx: ServerContext): ClientCapabilities | null {
  // The SDK has validated the envelope; its type does not name the keys.
  const envelope = ctx.mcpReq.envelope as Record<string, ClientCapabilities | undefined> | undefined;
  return envelope === undefined ? null : (envelope[CLIENT_CAPABILITIES_META_KEY] ?? {});
}

/**
 * The params a 2026-07-28 upstream gets besides the request's own: the
 * caller's capabilities (none for a 2025 caller), and on a retry the
 * caller's answers and the upstream's state. Nothing for a 2025 upstream.
 */
export function upstreamRoundParams(
  client: Client,
  ctx: ServerContext,
  state: RoundState | null,
): { _meta?: Record<string, unknown>; inputResponses?: Record<string, unknown>; requestState?: string } {
  if (client.getProtocolEra() !== "modern") return {};
  const { inputResponses } = ctx.mcpReq;
  return {
    _meta: { [CLIENT_CAPABILITIES_META_KEY]: callerCapabilities(ctx) ?? {} },
    ...(inputResponses !== undefined && { inputResponses }),
    ...(state?.kind === "upstream" && { requestState: state.state }),
  };
}

/** The upstream's round as the caller's: its requests as they are, its state sealed to the caller and `target`. */
export async function callerRound(
  rounds: Rounds,
  round: InputRequiredResult,
  ctx: ServerContext,
  target: string,
): Promise<InputRequiredResult> {
  const requestState =
    round.requestState === undefined
      ? undefined
      : await rounds.codec.mint({ kind: "upstream", target, state: round.requestState }, ctx);
  return {
    resultType: "input_required",
    ...(round.inputRequests && { inputRequests: round.inputRequests }),
    ...(requestState !== undefined && { requestState }),
  };
}
