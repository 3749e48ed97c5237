import { findUserById } from "../../accounts/users-store.ts";
import { inTransaction } from "../../db/client.ts";
import { answered, runToEnd } from "../../db/transaction.ts";
import { parseCredential, secretMatches } from "../../security/tokens.ts";
import type { OAuthClient } from "../clients-store.ts";
import { InvalidGrant, InvalidTarget, OAuthError } from "../errors.ts";
import { codePrefix } from "../authorizations.ts";
import { findAuthorization, revokeAuthorizationAndTokens } from "../authorizations-store.ts";
import { findCode, markCodeUsed } from "../codes-store.ts";
import { verifyS256 } from "../pkce.ts";
import { requestedResource } from "../resource.ts";
import { requiredParam } from "../params.ts";
import { issueTokenPair, touchAuthorization, touchClientUse, type GrantDeps, type TokenPair } from "../tokens.ts";

interface CodeRequest {
  code: string;
  redirectUri: string;
  codeVerifier: string;
  resource: string | undefined;
}

/**
 * grant_type=authorization_code: RFC 6749 §4.1.3, with PKCE (RFC 7636 §4.6)
 * and resource indicators (RFC 8707 §2.2).
 */
export function authorizationCodeGrant(deps: GrantDeps, client: OAuthClient, params: Map<string, string>): TokenPair {
  const request: CodeRequest = {
    code: requiredParam(params, "code"),
    redirectUri: requiredParam(params, "redirect_uri"),
    codeVerifier: requiredParam(params, "code_verifier"),
    // RFC 8707 §2: whichever spelling of the one resource, compared canonical.
    resource: params.has("resource") ? requestedResource(deps.config.publicUrl, params.get("resource")) : undefined,
  };
  // A replay's revocation must commit, so it comes back as a value; every
  // other refusal throws and rolls back a transaction that wrote nothing.
  const outcome = inTransaction(deps.db, () => exchangeCode(deps, client, request));
  if (outcome instanceof OAuthError) throw outcome;
  return outcome;
}

function exchangeCode(deps: GrantDeps, client: OAuthClient, request: CodeRequest): TokenPair | OAuthError {
  const { db, now } = deps;
  const parsed = parseCredential(codePrefix, request.code);
  const code = parsed ? findCode(db, parsed.id) : null;
  if (!parsed || !code || !secretMatches(parsed.secret, code.secretHash))
    throw new InvalidGrant("The authorization code is not valid.");
  // §4.1.3: the code was issued to the authenticated client.
  if (code.clientId !== client.id) throw new InvalidGrant("The authorization code was issued to another client.");
  // §4.1.2: a code used twice is refused, and what it issued is revoked (§10.5).
  if (code.usedAt !== null) return replayed(deps, code.grantId);
  if (code.expiresAt <= now) throw new InvalidGrant("The authorization code has expired.");
  // §4.1.3: identical to the redirect_uri of the authorization request.
  if (request.redirectUri !== code.redirectUri)
    throw new InvalidGrant("redirect_uri differs from the one the code was issued for.");
  // RFC 7636 §4.6: S256 of the verifier equals the challenge.
  if (!verifyS256(request.codeVerifier, code.codeChallenge))
    throw new InvalidGrant("PKCE verification failed: code_verifier does not match.");
  // RFC 8707 §2.2: the token is for the resource the user approved.
  if (request.resource !== undefined && request.resource !== code.resource) {
    throw new InvalidTarget("resource differs from the one the code was issued for.");
  }
  const authorization = findAuthorization(db, code.grantId);
  if (!authorization || authorization.revokedAt !== null) throw new InvalidGrant("The authorization was revoked.");
  const user = findUserById(db, authorization.userId);
  if (!user || user.disabledAt !== null)
    throw new InvalidGrant("The account that approved this authorization is disabled.");
  if (!markCodeUsed(db, code.id, now)) return replayed(deps, code.grantId);
  answered(touchAuthorization(db, authorization, now));
  // A registration that has exchanged a code is in use and must not expire.
  answered(touchClientUse(db, client, now));
  const pair = issueTokenPair(db, {
    grantId: authorization.id,
    grantScope: authorization.scope,
    accessScope: code.scope,
    now,
    lifetimes: deps.config,
  });
  deps.audit.record({
    event: "token_issued",
    outcome: "ok",
    userId: user.id,
    clientId: client.id,
    grantId: authorization.id,
    detail: { scope: pair.scope },
  });
  return pair;
}

function replayed(deps: GrantDeps, grantId: string): OAuthError {
  runToEnd(revokeAuthorizationAndTokens(deps.db, grantId, deps.now));
  deps.log.warn("authorization code replayed: grant revoked", { grant_id: grantId });
  const authorization = findAuthorization(deps.db, grantId);
  deps.audit.record({
    event: "code_replay",
    outcome: "denied",
    userId: authorization?.userId,
    clientId: authorization?.clientId,
    grantId,
    detail: { revoked: "grant" },
  });
  return new InvalidGrant("The authorization code was already used.");
}
