import { serviceAccountByClient } from "../../accounts/service-accounts-store.ts";
import { transaction } from "../../db/transaction.ts";
import type { OAuthClient } from "../clients-store.ts";
import { UnauthorizedClient } from "../errors.ts";
import { requestedResource } from "../resource.ts";
import { narrowedScope } from "../scopes.ts";
import { issueAccessToken, recordGrantUse, type GrantDeps, type TokenPair } from "../tokens.ts";

/**
 * grant_type=client_credentials (RFC 6749 §4.4), for service accounts only:
 * the client authenticated with its secret, and its account's authorization fixes
 * the scope and write tools. An access token alone, never a refresh token
 * (§4.4.3): the client asks again when it runs out.
 */
export async function clientCredentialsGrant(
  deps: GrantDeps,
  client: OAuthClient,
  params: Map<string, string>,
): Promise<TokenPair> {
  const { db, now } = deps;
  // RFC 8707 §2: the one resource here (any spelling of it), or none.
  requestedResource(deps.config.publicUrl, params.get("resource"));
  const requested = params.get("scope");
  // One transaction: the account as it is when its token is issued, so a token is never issued
  // to an account disabled or deleted a moment before.
  const { token, user, authorization } = await transaction(db, function* (tx) {
    const account = client.kind === "service" ? yield* serviceAccountByClient(tx, client.id) : null;
    if (!account)
      throw new UnauthorizedClient(
        "client_credentials is only for service accounts' clients: an admin creates one under Service accounts.",
      );
    const { user, authorization } = account;
    if (user.disabledAt !== null) throw new UnauthorizedClient(`The service account ${user.name} is disabled.`);
    const scope =
      requested === undefined || requested.trim() === ""
        ? authorization.scope
        : narrowedScope(requested, authorization.scope);
    const token = yield* issueAccessToken(tx, {
      grantId: authorization.id,
      scope,
      now,
      ttlSeconds: deps.config.accessTokenTtlSeconds,
    });
    yield* recordGrantUse(tx, now, authorization, client);
    return { token, user, authorization };
  });
  deps.audit.record({
    event: "token_issued",
    outcome: "ok",
    userId: user.id,
    clientId: client.id,
    grantId: authorization.id,
    detail: { scope: token.scope, grant_type: "client_credentials" },
  });
  return token;
}
