import { Elysia } from "elysia";
import type { AppDeps } from "../http/deps.ts";
import type { RequestContext } from "../http/request-context.ts";
import { authenticateClient, clientAuthChallenge, presentsClient } from "./client-auth.ts";
import { corsHeaders, oauthPaths } from "./endpoints.ts";
import { readBodyParams } from "./params.ts";
import { oauthFailure, requiredParam } from "./respond.ts";
import { revokePresentedToken } from "./tokens.ts";

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
export function revokeRoutes(deps: AppDeps, context: RequestContext) {
  const clientDeps = { db: deps.db, now: deps.now, publicUrl: deps.config.publicUrl, log: deps.log, useLastGoodCopy: true };
  return new Elysia()
    .use(context)
    .options(oauthPaths.revoke, () => new Response(null, { status: 204, headers: corsHeaders }))
    .post(oauthPaths.revoke, async ({ request, requestId, audit }) => {
      try {
        const params = await readBodyParams(request, { json: false });
        const client = presentsClient(request, params) ? await authenticateClient(clientDeps, request, params) : null;
        const token = requiredParam(params, "token");
        const revoked = revokePresentedToken(deps.db, { token, clientId: client?.id ?? null, now: deps.now() });
        if (revoked) {
          const { token: row, grant } = revoked;
          deps.log.info("token revoked", { client_id: grant.clientId });
          audit.record({ event: "token_revoked", outcome: "ok", userId: grant.userId, clientId: grant.clientId, grantId: grant.id, detail: { kind: row.kind } });
        }
        return new Response(null, { status: 200, headers: { "cache-control": "no-store", ...corsHeaders } });
      } catch (error) {
        return oauthFailure(deps.log, request, requestId, error, { ...corsHeaders, ...clientAuthChallenge(request, error) });
      }
    });
}
