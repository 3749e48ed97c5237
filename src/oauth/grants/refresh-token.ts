import { inTransaction } from "../../db/client.ts";
import { answered, runToEnd } from "../../db/transaction.ts";
import type { OAuthClient } from "../clients-store.ts";
import { InvalidGrant, OAuthError } from "../errors.ts";
import { revokeAuthorizationAndTokens } from "../authorizations-store.ts";
import { requestedResource } from "../resource.ts";
import { requiredParam } from "../params.ts";
import { narrowedScope } from "../scopes.ts";
import {
  findPresentedToken,
  reissueSuccessorPair,
  rotateRefreshToken,
  touchAuthorization,
  type GrantDeps,
  type PresentedToken,
  type TokenPair,
} from "../tokens.ts";

/**
 * grant_type=refresh_token: RFC 6749 §6, rotating on every use (OAuth 2.1
 * §4.3.1). Reuse of a rotated token revokes the whole family, except the
 * immediately previous token within the grace window, which gets the same
 * new pair again (clients that refresh twice at once). A grace of 0 is the
 * strict rule: every reuse, even in the same second, revokes the family.
 */
export function refreshTokenGrant(deps: GrantDeps, client: OAuthClient, params: Map<string, string>): TokenPair {
  const refreshToken = requiredParam(params, "refresh_token");
  const scope = params.get("scope");
  // RFC 8707 §2.2: a refresh may name the resource; the one here (any spelling of it), or none.
  requestedResource(deps.config.publicUrl, params.get("resource"));
  // A reuse's revocation must commit, so it comes back as a value; every
  // other refusal throws and rolls back a transaction that wrote nothing.
  const outcome = inTransaction(deps.db, () => refresh(deps, client, refreshToken, scope));
  if (outcome instanceof OAuthError) throw outcome;
  return outcome;
}

function refresh(
  deps: GrantDeps,
  client: OAuthClient,
  refreshToken: string,
  requestedScope: string | undefined,
): TokenPair | OAuthError {
  const { db, now } = deps;
  const presented = answered(findPresentedToken(db, refreshToken, "refresh"));
  if (!presented) throw new InvalidGrant("The refresh token is not valid.");
  const { token, authorization, user } = presented.context;
  // §6: the refresh token was issued to the authenticated client.
  if (authorization.clientId !== client.id) throw new InvalidGrant("The refresh token was issued to another client.");
  if (token.revokedAt !== null || authorization.revokedAt !== null)
    throw new InvalidGrant("The refresh token was revoked.");
  if (token.expiresAt <= now) throw new InvalidGrant("The refresh token has expired.");
  if (user.disabledAt !== null) throw new InvalidGrant("The account that approved this authorization is disabled.");
  // §6: no scope beyond what the resource owner granted; omitted means all of it.
  const accessScope =
    requestedScope === undefined ? authorization.scope : narrowedScope(requestedScope, authorization.scope);
  if (token.rotatedAt !== null) return reused(deps, presented);
  const pair = rotateRefreshToken(db, {
    parent: token,
    parentSecret: presented.secret,
    accessScope,
    now,
    lifetimes: deps.config,
  });
  if (!pair) return reused(deps, presented);
  answered(touchAuthorization(db, authorization, now));
  deps.audit.record({
    event: "token_refreshed",
    outcome: "ok",
    userId: authorization.userId,
    clientId: client.id,
    grantId: authorization.id,
    detail: { scope: pair.scope },
  });
  return pair;
}

/** A rotated token presented again: within grace, the same pair; otherwise the family ends. */
function reused(deps: GrantDeps, presented: PresentedToken): TokenPair | OAuthError {
  const { token, authorization } = presented.context;
  const inGrace = token.rotatedAt !== null && deps.now - token.rotatedAt < deps.config.refreshGraceSeconds;
  const again = inGrace
    ? reissueSuccessorPair(deps.db, { parent: token, parentSecret: presented.secret, now: deps.now })
    : null;
  const who = { userId: authorization.userId, clientId: authorization.clientId, grantId: authorization.id };
  if (again) {
    deps.audit.record({ event: "token_refreshed", outcome: "ok", ...who, detail: { scope: again.scope, grace: true } });
    return again;
  }
  runToEnd(revokeAuthorizationAndTokens(deps.db, authorization.id, deps.now));
  deps.log.warn("rotated refresh token reused: grant revoked", {
    grant_id: authorization.id,
    client_id: authorization.clientId,
  });
  deps.audit.record({ event: "refresh_replay", outcome: "denied", ...who, detail: { revoked: "grant" } });
  return new InvalidGrant("The refresh token was already used. Authorize again.");
}
