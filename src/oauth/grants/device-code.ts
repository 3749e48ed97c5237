import { userById } from "../../accounts/users-store.ts";
import type { Store } from "../../db/store.ts";
import { transaction, type Steps } from "../../db/transaction.ts";
import type { OAuthClient } from "../clients-store.ts";
import { pollTooFast, presentedDeviceCode, slowDownStepSeconds } from "../device-codes.ts";
import { markDeviceCodeUsed } from "../device-codes-store.ts";
import {
  AuthorizationPending,
  DeviceAccessDenied,
  ExpiredToken,
  InvalidGrant,
  OAuthError,
  SlowDown,
} from "../errors.ts";
import { authorizationById } from "../authorizations-store.ts";
import { requestedResource } from "../resource.ts";
import { requiredParam } from "../params.ts";
import { issueTokenPair, recordGrantUse, type GrantDeps, type TokenPair } from "../tokens.ts";

/** How a poll ended: the token pair, or the error to answer (after its bookkeeping commits). */
type Poll = { issued: TokenPair; grantId: string; userId: string } | OAuthError;

/**
 * grant_type=urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4,
 * §3.5): the client polls until the person approves or denies; the approved
 * code is exchanged once for the same token pair the code grant issues.
 */
export async function deviceCodeGrant(
  deps: GrantDeps,
  client: OAuthClient,
  params: Map<string, string>,
): Promise<TokenPair> {
  const deviceCode = requiredParam(params, "device_code");
  // RFC 8707 §2: the one resource here (any spelling of it), or none.
  requestedResource(deps.config.publicUrl, params.get("resource"));
  // The code is read, checked and marked used in one transaction (one token pair per code). The
  // poll's bookkeeping (interval, last poll) must commit even when it answers an error.
  const outcome = await transaction(deps.db, (tx) => poll(tx, deps, client, deviceCode));
  if (outcome instanceof OAuthError) throw outcome;
  const { issued, grantId, userId } = outcome;
  deps.audit.record({
    event: "token_issued",
    outcome: "ok",
    userId,
    clientId: client.id,
    grantId,
    detail: { scope: issued.scope, grant_type: "device_code" },
  });
  return issued;
}

function* poll(tx: Store, deps: GrantDeps, client: OAuthClient, deviceCode: string): Steps<Poll> {
  const { now } = deps;
  const row = yield* presentedDeviceCode(tx, deviceCode);
  // §3.4: the code was issued to the authenticated client.
  if (!row || row.clientId !== client.id) return new InvalidGrant("The device_code is not valid.");
  if (row.status === "used") return new InvalidGrant("The device_code was already used.");
  if (row.expiresAt <= now) return new ExpiredToken("The device_code expired. Start again.");
  if (yield* pollTooFast(tx, row, now))
    return new SlowDown(
      `Polling too fast: wait at least ${row.interval + slowDownStepSeconds} seconds between requests.`,
    );
  if (row.status === "pending") return new AuthorizationPending("The person has not answered yet.");
  if (row.status === "denied") return new DeviceAccessDenied("The person denied the request.");
  const authorization = row.grantId === null ? null : yield* authorizationById(tx, row.grantId);
  if (!authorization || authorization.revokedAt !== null) return new InvalidGrant("The authorization was revoked.");
  const user = yield* userById(tx, authorization.userId);
  if (!user || user.disabledAt !== null)
    return new InvalidGrant("The account that approved this authorization is disabled.");
  if (!(yield* markDeviceCodeUsed(tx, row.id))) return new InvalidGrant("The device_code was already used.");
  const issued = yield* issueTokenPair(tx, {
    grantId: authorization.id,
    grantScope: authorization.scope,
    accessScope: authorization.scope,
    now,
    lifetimes: deps.config,
  });
  yield* recordGrantUse(tx, now, authorization, client);
  return { issued, grantId: authorization.id, userId: user.id };
}
