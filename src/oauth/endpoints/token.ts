import { deviceCodeGrantType } from "../client-metadata.ts";
import { UnsupportedGrantType } from "../errors.ts";
import { authorizationCodeGrant } from "../grants/authorization-code.ts";
import { clientCredentialsGrant } from "../grants/client-credentials.ts";
import { deviceCodeGrant } from "../grants/device-code.ts";
import { refreshTokenGrant } from "../grants/refresh-token.ts";
import { requiredParam } from "../params.ts";
import { oauthPaths } from "../paths.ts";
import { tokenResponseBody } from "../tokens.ts";
import { noStoreJson, oauthEndpoint, type EndpointDeps } from "./endpoint.ts";
import type { AppDeps } from "../../http/deps.ts";
import type { RequestContext } from "../../http/request-context.ts";

/** One handler per grant_type (RFC 6749 §4, RFC 8628 §3.4), in the order the metadata lists them. */
const grantTypes = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  [deviceCodeGrantType]: deviceCodeGrant,
  client_credentials: clientCredentialsGrant,
};

/** The grant types the token endpoint answers: what metadata advertises. */
export const tokenGrantTypes = Object.keys(grantTypes);

/**
 * The token endpoint (RFC 6749 §3.2): form or JSON body, client
 * authentication, then one handler per grant_type (grants/). Every answer,
 * errors included, carries CORS headers for browser-based clients.
 */
export function tokenRoutes(deps: EndpointDeps & Pick<AppDeps, "metrics">, context: RequestContext) {
  const options = { body: "form-or-json", clientAuth: "required", useLastGoodCopy: true, cors: true } as const;
  return oauthEndpoint(deps, context, oauthPaths.token, options, async ({ params, client, audit }) => {
    const grantType = requiredParam(params, "grant_type");
    if (!Object.hasOwn(grantTypes, grantType))
      throw new UnsupportedGrantType(`grant_type ${grantType} is not supported.`);
    const pair = await grantTypes[grantType as keyof typeof grantTypes](
      { db: deps.db, log: deps.log, config: deps.config, now: deps.now(), audit },
      client,
      params,
    );
    deps.metrics.tokenIssued(grantType);
    return noStoreJson(tokenResponseBody(pair));
  });
}
