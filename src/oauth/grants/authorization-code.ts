import { userById } from "../../accounts/users-store.ts";
import type { Store } from "../../db/store.ts";
import { transaction, type Steps } from "../../db/transaction.ts";
import { parseCredential, secretMatches } from "../../security/tokens.ts";
import type { OAuthClient } from "../clients-store.ts";
import { InvalidGrant, InvalidTarget } from "../errors.ts";
import { codePrefix } from "../authorizations.ts";
import { authorizationById, revokeAuthorizationAndTokens } from "../authorizations-store.ts";
import { codeById, markCodeUsed } from "../codes-store.ts";
import { verifyS256 } from "../pkce.ts";
import { requestedResource } from "../resource.ts";
import { requiredParam } from "../params.ts";
import { issueTokenPair, recordGrantUse, type GrantDeps, type TokenPair } from "../tokens.ts";

interface CodeRequest {
  code: string;
  redirectUri: string;
  codeVerifier: string;
  resource: string | undefined;
}

/** How an exchange ended: a token pair, or a replayed code whose authorization is now revoked. */
type Exchange =
  | { issued: TokenPair; grantId: string; userId: string }
  | { replayed: { grantId: string; userId: string | undefined; clientId: string | undefined } };

/**
 * grant_type=authorization_code: RFC 6749 §4.1.3, with PKCE (RFC 7636 §4.6)
 * and resource indicators (RFC 8707 §2.2).
 */
export async function authorizationCodeGrant(
  deps: GrantDeps,
  client: OAuthClient,
  params: Map<string, string>,
): Promise<TokenPair> {
  const request: CodeRequest = {
    code: requiredParam(params, "code"),
    redirectUri: requiredParam(params, "redirect_uri"),
    codeVerifier: requiredParam(params, "code_verifier"),
    // RFC 8707 §2: whichever spelling of the one resource, compared canonical.
    resource: params.has("resource") ? requestedResource(deps.config.publicUrl, params.get("resource")) : undefined,
  };
  // The code is read, checked and marked used in one transaction (single use, §4.1.2).
  // A replay's revocation must commit, so it comes back as a value; every
  // other refusal throws and rolls back a transaction that wrote nothing.
  const outcome = await transaction(deps.db, (tx) => exchangeCode(tx, deps, client, request));
  if ("replayed" in outcome) {
    const { grantId, userId, clientId } = outcome.replayed;
    deps.log.warn("authorization code replayed: grant revoked", { grant_id: grantId });
    deps.audit.record({
      event: "code_replay",
      outcome: "denied",
      userId,
      clientId,
      grantId,
      detail: { revoked: "grant" },
    });
    throw new InvalidGrant("The authorization code was already used.");
  }
  const { issued, grantId, userId } = outcome;
  deps.audit.record({
    event: "token_issued",
    outcome: "ok",
    userId,
    clientId: client.id,
    grantId,
    detail: { scope: issued.scope },
  });
  return issued;
}

function* exchangeCode(tx: Store, deps: GrantDeps, client: OAuthClient, request: CodeRequest): Steps<Exchange> {
  const { now } = deps;
  const parsed = parseCredential(codePrefix, request.code);
  const code = parsed ? yield* codeById(tx, parsed.id) : null;
  if (!parsed || !code || !secretMatches(parsed.secret, code.secretHash))
    throw new InvalidGrant("The authorization code is not valid.");
  // §4.1.3: the code was issued to the authenticated client.
  if (code.clientId !== client.id) throw new InvalidGrant("The authorization code was issued to another client.");
  // §4.1.2: a code used twice is refused, and what it issued is revoked (§10.5).
  if (code.usedAt !== null) return yield* replayed(tx, code.grantId, now);
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
  const authorization = yield* authorizationById(tx, code.grantId);
  if (!authorization || authorization.revokedAt !== null) throw new InvalidGrant("The authorization was revoked.");
  const user = yield* userById(tx, authorization.userId);
  if (!user || user.disabledAt !== null)
    throw new InvalidGrant("The account that approved this authorization is disabled.");
  if (!(yield* markCodeUsed(tx, code.id, now))) return yield* replayed(tx, code.grantId, now);
  const issued = yield* issueTokenPair(tx, {
    grantId: authorization.id,
    grantScope: authorization.scope,
    accessScope: code.scope,
    now,
    lifetimes: deps.config,
  });
  yield* recordGrantUse(tx, now, authorization, client);
  return { issued, grantId: authorization.id, userId: user.id };
}

/** A code presented again: it leaked, so its authorization and every token it issued are revoked. */
function* replayed(tx: Store, grantId: string, now: number): Steps<Exchange> {
  yield* revokeAuthorizationAndTokens(tx, grantId, now);
  const authorization = yield* authorizationById(tx, grantId);
  return { replayed: { grantId, userId: authorization?.userId, clientId: authorization?.clientId } };
}
