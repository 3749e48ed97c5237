// The polling bridge, for clients that cannot receive a redirect (a Figma
// plugin in an iframe, a CLI without a local port): the client names
// Gatehouse's own callback as its redirect URI, and polls with its state
// until the code is there. The code is still single use and PKCE-bound, so
// only the client holding the verifier can exchange it at the token endpoint.
//
// Entries are written by the authorization endpoint itself (never from a
// callback's query), so a forged callback cannot plant a code or an error.
// The code waits sealed with a key derived from the state (bridge-code.ts);
// the row is found by a SHA-256 of the state, so the table alone reveals
// neither the state nor the code.

import type { Store } from "../db/store.ts";
import { transaction, type Steps } from "../db/transaction.ts";
import { hashSecret } from "../security/tokens.ts";
import { openBridgeCode, sealBridgeCode } from "./bridge-code.ts";
import {
  answerBridgeEntry,
  bridgeEntryByHash,
  findBridgeEntry,
  insertBridgeEntry,
  recordBridgePoll,
  takeBridgeCode,
  type BridgeEntry,
} from "./bridge-store.ts";
import { clientById } from "./clients-store.ts";
import { oauthPaths } from "./paths.ts";
import {
  AuthorizationPending,
  DeviceAccessDenied,
  ExpiredToken,
  InvalidClient,
  InvalidGrant,
  InvalidRequest,
  OAuthError,
  SlowDown,
  UnauthorizedClient,
} from "./errors.ts";

/** Seconds a client must wait between two polls for one state (RFC 8628 §3.5's default). */
export const bridgePollIntervalSeconds = 5;

/** At least 32 characters of URL-safe text: the state is the only key to the code, so it must be unguessable. */
const strongState = /^[A-Za-z0-9._~-]{32,512}$/;

export function bridgeCallbackUrl(publicUrl: string): string {
  return new URL(oauthPaths.bridgeCallback, publicUrl).href;
}

export function isStrongBridgeState(state: string | null): boolean {
  return state !== null && strongState.test(state);
}

/** Entries are keyed by a SHA-256 of the state: the table never holds a usable state. */
export function bridgeStateHash(state: string): string {
  return hashSecret(state);
}

/**
 * Opens (or reopens, on a reload of the consent page) the entry a client
 * will poll. False when the state is taken: by another client, or by a
 * request already answered.
 */
export function openBridgeEntry(
  db: Store,
  input: { state: string; clientId: string; now: number; expiresAt: number },
): Promise<boolean> {
  return transaction(db, (tx) => openEntry(tx, input));
}

/** openBridgeEntry's body: the insert and, when the state is taken, the entry that holds it, read in one transaction. */
function* openEntry(
  tx: Store,
  input: { state: string; clientId: string; now: number; expiresAt: number },
): Steps<boolean> {
  const stateHash = bridgeStateHash(input.state);
  const entry: BridgeEntry = {
    stateHash,
    clientId: input.clientId,
    code: null,
    error: null,
    lastPolledAt: null,
    createdAt: input.now,
    expiresAt: input.expiresAt,
    deliveredAt: null,
  };
  if (yield* insertBridgeEntry(tx, entry)) return true;
  const existing = yield* bridgeEntryByHash(tx, stateHash);
  return (
    existing !== null && existing.clientId === input.clientId && bridgeEntryStatus(existing, input.now) === "pending"
  );
}

/**
 * Records the answer the browser is about to carry to the bridge callback.
 * An error before consent (phase 2 of the authorization request) has no
 * entry yet, so one is made. False when the state was answered already.
 */
export function answerBridge(db: Store, input: BridgeAnswer): Promise<boolean> {
  return transaction(db, (tx) => answerBridgeIn(tx, input));
}

export interface BridgeAnswer {
  state: string;
  clientId: string;
  code: string | null;
  error: string | null;
  now: number;
  expiresAt: number;
}

/** The state was answered before: thrown from a transaction to undo what it made for this answer (a grant, a code). */
export class BridgeStateTaken extends Error {}

/** answerBridge as a step of a larger transaction, which it ends with BridgeStateTaken when the state was answered before. */
export function* claimBridgeState(tx: Store, input: BridgeAnswer): Steps<void> {
  if (!(yield* answerBridgeIn(tx, input))) throw new BridgeStateTaken("the bridge state was answered before");
}

function* answerBridgeIn(tx: Store, input: BridgeAnswer): Steps<boolean> {
  const stateHash = bridgeStateHash(input.state);
  const code =
    input.code === null ? null : sealBridgeCode({ state: input.state, clientId: input.clientId, code: input.code });
  const answer = { code, error: input.error, expiresAt: input.expiresAt };
  // In one transaction: the entry read is the one answered (a first poll may open it meanwhile).
  const existing = yield* bridgeEntryByHash(tx, stateHash);
  if (existing === null)
    return yield* insertBridgeEntry(tx, {
      stateHash,
      clientId: input.clientId,
      ...answer,
      lastPolledAt: null,
      createdAt: input.now,
      deliveredAt: null,
    });
  if (existing.clientId !== input.clientId) return false;
  return yield* answerBridgeEntry(tx, stateHash, answer);
}

export type BridgeStatus = "pending" | "ready" | "failed" | "delivered" | "expired";

export function bridgeEntryStatus(entry: BridgeEntry, now: number): BridgeStatus {
  if (entry.expiresAt <= now) return "expired";
  if (entry.deliveredAt !== null) return "delivered";
  if (entry.error !== null) return "failed";
  return entry.code !== null ? "ready" : "pending";
}

/** What the callback page tells the person, or null when the state names no live entry. */
export async function bridgeCallbackView(
  db: Store,
  state: string | null,
  now: number,
): Promise<{ clientId: string; status: BridgeStatus } | null> {
  if (state === null) return null;
  const entry = await findBridgeEntry(db, bridgeStateHash(state));
  if (!entry) return null;
  const status = bridgeEntryStatus(entry, now);
  return status === "expired" ? null : { clientId: entry.clientId, status };
}

/**
 * One poll (POST /oauth/bridge/poll). Errors use RFC 8628 §3.5's polling
 * vocabulary: authorization_pending, slow_down, expired_token, access_denied.
 *
 * A plugin opens the browser and starts polling at once, so its first poll
 * usually comes before the browser reaches the authorization endpoint: a
 * strong state from a client registered for the bridge opens the pending
 * entry then (it expires as a consent request does). A state held by another
 * client, or an expired one, answers expired_token, so a poll reveals nothing
 * about states it does not hold, and so does a code that does not open
 * (tampered, or stored in plaintext by a version before codes were sealed).
 */
export async function pollBridge(
  db: Store,
  input: { state: string; clientId: string; now: number; bridgeUrl: string; pendingTtlSeconds: number },
): Promise<{ code: string }> {
  // One transaction, so a poll's interval check and its record, and the code's hand-out, see
  // no other poll in between. Its refusals are returned, not thrown, so the poll it records
  // commits with them (a throw would roll it back), and thrown after.
  const answer = await transaction(db, (tx) => poll(tx, input));
  if ("refusal" in answer) throw answer.refusal;
  return answer;
}

function* poll(
  tx: Store,
  input: { state: string; clientId: string; now: number; bridgeUrl: string; pendingTtlSeconds: number },
): Steps<{ code: string } | { refusal: OAuthError }> {
  const stateHash = bridgeStateHash(input.state);
  let entry = yield* bridgeEntryByHash(tx, stateHash);
  if (!entry) entry = yield* openOnFirstPoll(tx, input);
  const status = entry && entry.clientId === input.clientId ? bridgeEntryStatus(entry, input.now) : "expired";
  if (!entry || status === "expired") throw expired();
  if (status === "delivered")
    throw new InvalidGrant("The code for this state was already handed out; a code is delivered once.");
  const tooSoon = entry.lastPolledAt !== null && input.now - entry.lastPolledAt < bridgePollIntervalSeconds;
  yield* recordBridgePoll(tx, stateHash, input.now);
  // RFC 8628 §3.5: the client adds 5 seconds to its interval.
  if (tooSoon) return { refusal: new SlowDown(`Poll at most once every ${bridgePollIntervalSeconds} seconds.`) };
  if (status === "pending")
    return { refusal: new AuthorizationPending("The user has not answered yet. Poll again later.") };
  if (status === "failed") return { refusal: bridgeError(entry.error!) };
  const code = openBridgeCode({ state: input.state, clientId: input.clientId, stored: entry.code! });
  if (code === null) return { refusal: expired() };
  if (!(yield* takeBridgeCode(tx, stateHash, input.now)))
    return { refusal: new InvalidGrant("The code for this state was already handed out; a code is delivered once.") };
  return { code };
}

const expired = () =>
  new ExpiredToken("No authorization is waiting for this state and client: it expired. Start again with a new state.");

/** The entry a first poll opens; refuses clients not registered for the bridge and weak states with their own errors. */
function* openOnFirstPoll(
  tx: Store,
  input: { state: string; clientId: string; now: number; bridgeUrl: string; pendingTtlSeconds: number },
): Steps<BridgeEntry | null> {
  const client = yield* clientById(tx, input.clientId);
  if (!client) throw new InvalidClient("Unknown client_id: register the client first.");
  if (!client.redirectUris.includes(input.bridgeUrl))
    throw new UnauthorizedClient(
      `This client did not register the bridge callback ${input.bridgeUrl} as a redirect URI.`,
    );
  if (!isStrongBridgeState(input.state))
    throw new InvalidRequest("The state must be at least 32 characters of A-Z a-z 0-9 - . _ ~.");
  yield* openEntry(tx, {
    state: input.state,
    clientId: input.clientId,
    now: input.now,
    expiresAt: input.now + input.pendingTtlSeconds,
  });
  return yield* bridgeEntryByHash(tx, bridgeStateHash(input.state));
}

/** The stored error as an answer: a denial, or the refusal of a malformed authorization request (with its own code). */
function bridgeError(error: string): OAuthError {
  if (error === "access_denied") return new DeviceAccessDenied("The user did not allow access.");
  return new OAuthError(
    error,
    "The authorization request was refused; fix it and send the user through the authorization endpoint again.",
  );
}

/** The poll's required parameters: state and client_id, exactly once each. */
export function pollParams(params: Map<string, string>): { state: string; clientId: string } {
  const state = params.get("state");
  const clientId = params.get("client_id");
  if (state === undefined) throw new InvalidRequest("The parameter state is required.");
  if (clientId === undefined) throw new InvalidRequest("The parameter client_id is required.");
  return { state, clientId };
}
