import { requiredParam } from "../params.ts";
import { oauthPaths } from "../paths.ts";
import { revokePresentedToken } from "../tokens.ts";
import { oauthEndpoint, type EndpointDeps } from "./endpoint.ts";
import type { RequestContext } from "../../http/request-context.ts";

/**
 * RFC 7009 token revocation. Confidential clients authenticate as at the
 * token endpoint; public clients may identify with client_id (§2.1) or send
 * the token alone (as Tokencraft's documented call does): a public client
 * has no credential beyond the token, so possession is the proof. A
 * confidential client's token sent alone is 401 invalid_client, never
 * revoked. The answer is 200 whether or not the token was known or the
 * client's own (§2.2), so a guessed token learns nothing (only a token whose
 * secret matches is ever looked at further). token_type_hint is only a
 * hint: the prefix says the kind.
 */
export function revokeRoutes(deps: EndpointDeps, context: RequestContext) {
  const options = { body: "form", clientAuth: "when-named", useLastGoodCopy: true, cors: true } as const;
  return oauthEndpoint(deps, context, oauthPaths.revoke, options, async ({ params, client, audit }) => {
    const token = requiredParam(params, "token");
    const revoked = await revokePresentedToken(deps.db, { token, clientId: client?.id ?? null, now: deps.now() });
    if (revoked) {
      const { token: row, authorization } = revoked;
      deps.log.info("token revoked", { client_id: authorization.clientId });
      audit.record({
        event: "token_revoked",
        outcome: "ok",
        userId: authorization.userId,
        clientId: authorization.clientId,
        grantId: authorization.id,
        detail: { kind: row.kind },
      });
    }
    return new Response(null, { status: 200, headers: { "cache-control": "no-store" } });
  });
}
