import { Elysia } from "elysia";
import type { AppDeps } from "../http/deps.ts";
import type { RequestContext } from "../http/request-context.ts";
import { authenticateClient, clientAuthChallenge } from "./client-auth.ts";
import { formatUserCode, issueDeviceCode } from "./device-codes.ts";
import { corsHeaders, devicePaths, oauthPaths } from "./endpoints.ts";
import { UnauthorizedClient } from "./errors.ts";
import { readBodyParams } from "./params.ts";
import { requestedResource } from "./resource.ts";
import { noStoreJson, oauthFailure } from "./respond.ts";
import { formatScope, normalizeScopes, parseScope } from "./scopes.ts";

/** Where a person enters a user code, with the code filled in when given (RFC 8628 §3.3.1). */
export function verificationUris(issuer: string, userCode: string) {
  const uri = `${issuer}${devicePaths.verify}`;
  return { verification_uri: uri, verification_uri_complete: `${uri}?${new URLSearchParams({ user_code: formatUserCode(userCode) })}` };
}

/**
 * The device authorization endpoint (RFC 8628 §3.1, §3.2): an authenticated
 * client asks for a device code and a user code. Scope and resource default
 * as at the authorization endpoint; errors are RFC 6749 §5.2 JSON.
 */
export function deviceAuthorizationRoutes(deps: AppDeps, context: RequestContext) {
  const issuer = deps.config.publicUrl;
  const clientDeps = { db: deps.db, now: deps.now, publicUrl: issuer, log: deps.log };
  const path = oauthPaths.deviceAuthorization;
  return new Elysia()
    .use(context)
    .options(path, () => new Response(null, { status: 204, headers: corsHeaders }))
    .post(path, async ({ request, requestId }) => {
      try {
        const params = await readBodyParams(request, { json: false });
        const client = await authenticateClient(clientDeps, request, params);
        if (client.kind === "service") throw new UnauthorizedClient("A service account's client gets tokens with client_credentials, not the device flow.");
        const scopes = normalizeScopes(parseScope(params.get("scope"), { ignoreUnknown: true }));
        const resource = requestedResource(issuer, params.get("resource"));
        const issued = issueDeviceCode(deps.db, { clientId: client.id, scope: formatScope(scopes), resource, now: deps.now() });
        return noStoreJson(
          {
            device_code: issued.deviceCode,
            user_code: formatUserCode(issued.userCode),
            ...verificationUris(issuer, issued.userCode),
            expires_in: issued.expiresIn,
            interval: issued.interval,
          },
          corsHeaders,
        );
      } catch (error) {
        return oauthFailure(deps.log, request, requestId, error, { ...corsHeaders, ...clientAuthChallenge(request, error) });
      }
    });
}
