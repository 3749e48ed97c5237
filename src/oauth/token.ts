import { Elysia } from "elysia";
import type { AppDeps } from "../http/deps.ts";
import type { RequestContext } from "../http/request-context.ts";
import { authenticateClient, clientAuthChallenge } from "./client-auth.ts";
import { corsHeaders, oauthPaths } from "./endpoints.ts";
import { UnsupportedGrantType } from "./errors.ts";
import { authorizationCodeGrant } from "./grants/authorization-code.ts";
import { clientCredentialsGrant } from "./grants/client-credentials.ts";
import { deviceCodeGrantType } from "./client-metadata.ts";
import { deviceCodeGrant } from "./grants/device-code.ts";
import { refreshTokenGrant } from "./grants/refresh-token.ts";
import { readBodyParams } from "./params.ts";
import { noStoreJson, oauthFailure, requiredParam } from "./respond.ts";
import { tokenResponseBody, type GrantDeps } from "./tokens.ts";

const grants = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
  [deviceCodeGrantType]: deviceCodeGrant,
};

/**
 * The token endpoint (RFC 6749 §3.2): form or JSON body, client
 * authentication, then one grant handler per grant_type. Every answer,
 * errors included, carries CORS headers for browser-based clients.
 */
export function tokenRoutes(deps: AppDeps, context: RequestContext) {
  const clientDeps = { db: deps.db, now: deps.now, publicUrl: deps.config.publicUrl, log: deps.log, useLastGoodCopy: true };
  return new Elysia()
    .use(context)
    .options(oauthPaths.token, () => new Response(null, { status: 204, headers: corsHeaders }))
    .post(oauthPaths.token, async ({ request, requestId, audit }) => {
      try {
        const params = await readBodyParams(request, { json: true });
        const client = await authenticateClient(clientDeps, request, params);
        const grantType = requiredParam(params, "grant_type");
        if (!Object.hasOwn(grants, grantType)) throw new UnsupportedGrantType(`grant_type ${grantType} is not supported.`);
        const grantDeps: GrantDeps = { db: deps.db, log: deps.log, config: deps.config, now: deps.now(), audit };
        const pair = grants[grantType as keyof typeof grants](grantDeps, client, params);
        return noStoreJson(tokenResponseBody(pair), corsHeaders);
      } catch (error) {
        return oauthFailure(deps.log, request, requestId, error, { ...corsHeaders, ...clientAuthChallenge(request, error) });
      }
    });
}
