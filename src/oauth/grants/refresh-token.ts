import type { Store } from "../../db/store.ts";
import { transaction, type Steps } from "../../db/transaction.ts";
import type { OAuthClient } from "../clients-store.ts";
import { InvalidGrant } from "../errors.ts";
import { revokeAuthorizationAndTokens } from "../authorizations-store.ts";
import { requestedResource } from "../resource.ts";
import { requiredParam } from "../params.ts";
import { narrowedScope } from "../scopes.ts";
import {
  presentedToken,
  reissueSuccessorPair,
  recordGrantUse,
  rotateRefreshToken,
  type GrantDeps,
  type PresentedToken,
  type TokenPair,
} from "../tokens.ts";
import type { TokenContext } from "../tokens-store.ts";

/** How a refresh ended: a pair (a new one, or within grace the same again), or a reuse that revoked the family. */
type Refresh =
  | { issued: TokenPair; context: TokenContext; grace: boolean }
  | { familyRevoked: TokenContext["authorization"] };

/**
 * grant_type=refresh_token: RFC 6749 §6, rotating on every use (OAuth 2.1
 * §4.3.1). Reuse of a rotated token revokes the whole family, except the
 * immediately previous token within the grace window, which gets the same
 * new pair again (clients that refresh twice at once). A grace of 0 is the
 * strict rule: every reuse, even in the same second, revokes the family.
 */
export async function refreshTokenGrant(
  deps: GrantDeps,
  client: OAuthClient,
  params: Map<string, string>,
): Promise<TokenPair> {
  const refreshToken = requiredParam(params, "refresh_token");
  const scope = params.get("scope");
  // RFC 8707 §2.2: a refresh may name the resource; the one here (any spelling of it), or none.
  requestedResource(deps.config.publicUrl, params.get("resource"));
  // The token is read, checked and rotated (or its family revoked) in one transaction.
  // A reuse's revocation must commit, so it comes back as a value; every
  // other refusal throws and rolls back a transaction that wrote nothing.
  const outcome = await transaction(deps.db, (tx) => refresh(tx, deps, client, refreshToken, scope));
  if ("familyRevoked" in outcome) {
    const authorization = outcome.familyRevoked;
    deps.log.warn("rotated refresh token reused: grant revoked", {
      grant_id: authorization.id,
      client_id: authorization.clientId,
    });
    deps.audit.record({
      event: "refresh_replay",
      outcome: "denied",
      userId: authorization.userId,
      clientId: authorization.clientId,
      grantId: authorization.id,
      detail: { revoked: "grant" },
    });
    throw new InvalidGrant("The refresh token was already used. Authorize again.");
  }
  const { issued, context, grace } = outcome;
  const { authorization } = context;
  deps.audit.record({
    event: "token_refreshed",
    outcome: "ok",
    userId: authorization.userId,
    clientId: client.id,
    grantId: authorization.id,
    detail: grace ? { scope: issued.scope, grace: true } : { scope: issued.scope },
  });
  return issued;
}

function* refresh(
  tx: Store,
  deps: GrantDeps,
  client: OAuthClient,
  refreshToken: string,
  requestedScope: string | undefined,
): Steps<Refresh> {
  const { now } = deps;
  const presented = yield* presentedToken(tx, refreshToken, "refresh");
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
  if (token.rotatedAt !== null) return yield* reused(tx, deps, presented);
  const issued = yield* rotateRefreshToken(tx, {
    parent: token,
    parentSecret: presented.secret,
    accessScope,
    now,
    lifetimes: deps.config,
  });
  if (!issued) return yield* reused(tx, deps, presented);
  yield* recordGrantUse(tx, now, authorization);
  return { issued, context: presented.context, grace: false };
}

/** A rotated token presented again: within grace, the same pair; otherwise the family ends. */
function* reused(tx: Store, deps: GrantDeps, presented: PresentedToken): Steps<Refresh> {
  const { token, authorization } = presented.context;
  const inGrace = token.rotatedAt !== null && deps.now - token.rotatedAt < deps.config.refreshGraceSeconds;
  const again = inGrace
    ? yield* reissueSuccessorPair(tx, { parent: token, parentSecret: presented.secret, now: deps.now })
    : null;
  if (again) return { issued: again, context: presented.context, grace: true };
  yield* revokeAuthorizationAndTokens(tx, authorization.id, deps.now);
  return { familyRevoked: authorization };
}
