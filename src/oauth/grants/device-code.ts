import { findUserById } from "../../accounts/users-store.ts";
import { inTransaction } from "../../db/client.ts";
import { answered } from "../../db/transaction.ts";
import type { OAuthClient } from "../clients-store.ts";
import { findPresentedDeviceCode, pollTooFast, slowDownStepSeconds } from "../device-codes.ts";
import { markDeviceCodeUsed } from "../device-codes-store.ts";
import {
  AuthorizationPending,
  DeviceAccessDenied,
  ExpiredToken,
  InvalidGrant,
  OAuthError,
  SlowDown,
} from "../errors.ts";
import { findAuthorization } from "../authorizations-store.ts";
import { requestedResource } from "../resource.ts";
import { requiredParam } from "../params.ts";
import { issueTokenPair, touchAuthorization, touchClientUse, type GrantDeps, type TokenPair } from "../tokens.ts";

/**
 * grant_type=urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4,
 * §3.5): the client polls until the person approves or denies; the approved
 * code is exchanged once for the same token pair the code grant issues.
 */
export function deviceCodeGrant(deps: GrantDeps, client: OAuthClient, params: Map<string, string>): TokenPair {
  const deviceCode = requiredParam(params, "device_code");
  // RFC 8707 §2: the one resource here (any spelling of it), or none.
  requestedResource(deps.config.publicUrl, params.get("resource"));
  // The poll's bookkeeping (interval, last poll) must commit even when it answers an error.
  const outcome = inTransaction(deps.db, () => poll(deps, client, deviceCode));
  if (outcome instanceof OAuthError) throw outcome;
  answered(touchClientUse(deps.db, client, deps.now));
  return outcome;
}

function poll(deps: GrantDeps, client: OAuthClient, deviceCode: string): TokenPair | OAuthError {
  const { db, now } = deps;
  const row = findPresentedDeviceCode(db, deviceCode);
  // §3.4: the code was issued to the authenticated client.
  if (!row || row.clientId !== client.id) return new InvalidGrant("The device_code is not valid.");
  if (row.status === "used") return new InvalidGrant("The device_code was already used.");
  if (row.expiresAt <= now) return new ExpiredToken("The device_code expired. Start again.");
  if (pollTooFast(db, row, now))
    return new SlowDown(
      `Polling too fast: wait at least ${row.interval + slowDownStepSeconds} seconds between requests.`,
    );
  if (row.status === "pending") return new AuthorizationPending("The person has not answered yet.");
  if (row.status === "denied") return new DeviceAccessDenied("The person denied the request.");
  const authorization = row.grantId === null ? null : findAuthorization(db, row.grantId);
  if (!authorization || authorization.revokedAt !== null) return new InvalidGrant("The authorization was revoked.");
  const user = findUserById(db, authorization.userId);
  if (!user || user.disabledAt !== null)
    return new InvalidGrant("The account that approved this authorization is disabled.");
  if (!markDeviceCodeUsed(db, row.id)) return new InvalidGrant("The device_code was already used.");
  answered(touchAuthorization(db, authorization, now));
  const pair = issueTokenPair(db, {
    grantId: authorization.id,
    grantScope: authorization.scope,
    accessScope: authorization.scope,
    now,
    lifetimes: deps.config,
  });
  deps.audit.record({
    event: "token_issued",
    outcome: "ok",
    userId: user.id,
    clientId: client.id,
    grantId: authorization.id,
    detail: { scope: pair.scope, grant_type: "device_code" },
  });
  return pair;
}
