import type { ArgumentLimits } from "../mcp/argument-gates.ts";
import type { Store } from "../db/store.ts";
import { transaction, type Steps } from "../db/transaction.ts";
import { hashSecret, newCredential, parseCredential, randomString, secretMatches } from "../security/tokens.ts";
import {
  answerDeviceCode,
  deviceCodeById,
  deviceCodeByUserCode,
  findDeviceCodeByUserCode,
  insertDeviceCode,
  recordPoll,
  type DeviceCode,
} from "./device-codes-store.ts";
import { insertAuthorization, type Authorization } from "./authorizations-store.ts";

// RFC 8628 device codes: the device_code the client polls with is a
// credential `gate_dc_<id>_<secret>`; the user code a person types is short,
// from letters that cannot be mistaken for one another (§6.1), and stored
// only as a SHA-256 of its normalized form.

export const deviceCodePrefix = "gate_dc_";
/** §3.2: long enough for a person to find a browser and sign in. */
export const deviceCodeTtlSeconds = 10 * 60;
/** §3.2: the default polling interval; §3.5: slow_down adds 5 seconds. */
export const pollIntervalSeconds = 5;
export const slowDownStepSeconds = 5;

// No vowels (no words), no digits (no 0/O, 1/I confusion), §6.1.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";
const userCodeLength = 8;

/** A random user code, normalized (no separator). Rejection sampling keeps every letter equally likely. */
export function newUserCode(): string {
  let code = "";
  while (code.length < userCodeLength) {
    for (const byte of crypto.getRandomValues(new Uint8Array(16))) {
      if (byte < 240 && code.length < userCodeLength) code += userCodeAlphabet[byte % userCodeAlphabet.length];
    }
  }
  return code;
}

/** XXXX-XXXX, as shown to people. */
export function formatUserCode(normalized: string): string {
  return `${normalized.slice(0, 4)}-${normalized.slice(4)}`;
}

/** What a person typed, upper-cased without dashes and spaces; null when it cannot be a user code. */
export function normalizeUserCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, "");
  if (code.length !== userCodeLength) return null;
  for (const c of code) if (!userCodeAlphabet.includes(c)) return null;
  return code;
}

export interface IssuedDeviceCode {
  deviceCode: string;
  /** Normalized; formatUserCode for display. */
  userCode: string;
  expiresIn: number;
  interval: number;
}

/** Stores a new pending device authorization (§3.2). */
export async function issueDeviceCode(
  db: Store,
  input: { clientId: string; scope: string; resource: string; now: number },
): Promise<IssuedDeviceCode> {
  const { id, token, secretHash } = newCredential(deviceCodePrefix);
  // 20^8 codes: a clash with a live one is rare, and retried rather than refused. Looked
  // for and inserted in one transaction, so two requests cannot both take a free code.
  const userCode = await transaction(db, function* (tx) {
    let userCode = newUserCode();
    while (yield* deviceCodeByUserCode(tx, hashSecret(userCode))) userCode = newUserCode();
    yield* insertDeviceCode(tx, {
      id,
      secretHash,
      userCodeHash: hashSecret(userCode),
      clientId: input.clientId,
      scope: input.scope,
      resource: input.resource,
      status: "pending",
      grantId: null,
      interval: pollIntervalSeconds,
      lastPolledAt: null,
      createdAt: input.now,
      expiresAt: input.now + deviceCodeTtlSeconds,
    });
    return userCode;
  });
  return { deviceCode: token, userCode, expiresIn: deviceCodeTtlSeconds, interval: pollIntervalSeconds };
}

/** The row behind a presented device_code whose secret matches, or null, as a transaction body's step. */
export function* presentedDeviceCode(tx: Store, deviceCode: string): Steps<DeviceCode | null> {
  const parsed = parseCredential(deviceCodePrefix, deviceCode);
  const row = parsed ? yield* deviceCodeById(tx, parsed.id) : null;
  return parsed && row && secretMatches(parsed.secret, row.secretHash) ? row : null;
}

/** The pending, unexpired device authorization a person's typed code names, or null. */
export async function findPendingByUserCode(db: Store, typed: string, now: number): Promise<DeviceCode | null> {
  const normalized = normalizeUserCode(typed);
  const row = normalized === null ? null : await findDeviceCodeByUserCode(db, hashSecret(normalized));
  return row && row.status === "pending" && row.expiresAt > now ? row : null;
}

/**
 * §3.5: a poll sooner than the interval after the last one is too fast; the
 * interval then grows by 5 seconds for every later poll. Records the poll, as
 * a step of the poll's transaction.
 */
export function* pollTooFast(tx: Store, row: DeviceCode, now: number): Steps<boolean> {
  const tooFast = row.lastPolledAt !== null && now - row.lastPolledAt < row.interval;
  yield* recordPoll(tx, row.id, now, tooFast ? row.interval + slowDownStepSeconds : row.interval);
  return tooFast;
}

/**
 * The person's answer on the consent page (§3.3). Approval records the authorization
 * (a connection, as approveAuthorization does, without a code) with the
 * ticked write tools; the next poll exchanges it. Null when the code was
 * answered already or expired meanwhile.
 */
export function answerDeviceAuthorization(
  db: Store,
  input: { row: DeviceCode; now: number } & (
    | { decision: "deny" }
    | {
        decision: "allow";
        userId: string;
        apiKeyId: string | null;
        scope: string;
        tools: string[] | null;
        argumentLimits?: ArgumentLimits | null;
      }
  ),
): Promise<{ authorization: Authorization | null } | null> {
  const { row, now } = input;
  // In one transaction: the code as it is when answered, so it is answered once, approved or denied.
  return transaction(db, function* (tx) {
    const current = yield* deviceCodeById(tx, row.id);
    if (current?.status !== "pending" || current.expiresAt <= now) return null;
    if (input.decision === "deny")
      return (yield* answerDeviceCode(tx, row.id, { status: "denied" })) ? { authorization: null } : null;
    const authorization: Authorization = {
      id: randomString(10),
      userId: input.userId,
      clientId: row.clientId,
      scope: input.scope,
      tools: input.tools,
      argumentLimits: input.argumentLimits ?? null,
      resource: row.resource,
      apiKeyId: input.apiKeyId,
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
    };
    yield* insertAuthorization(tx, authorization);
    yield* answerDeviceCode(tx, row.id, { status: "approved", grantId: authorization.id });
    return { authorization };
  });
}
