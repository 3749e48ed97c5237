import { formatUserCode, issueDeviceCode } from "../device-codes.ts";
import { UnauthorizedClient } from "../errors.ts";
import { devicePaths, oauthPaths } from "../paths.ts";
import { requestedResource } from "../resource.ts";
import { formatScope, normalizeScopes, parseScope } from "../scopes.ts";
import { noStoreJson, oauthEndpoint, type EndpointDeps } from "./endpoint.ts";
import type { RequestContext } from "../../http/request-context.ts";

/** Where a person enters a user code, with the code filled in when given (RFC 8628 §3.3.1). */
export function verificationUris(issuer: string, userCode: string) {
  const uri = `${issuer}${devicePaths.verify}`;
  return {
    verification_uri: uri,
    verification_uri_complete: `${uri}?${new URLSearchParams({ user_code: formatUserCode(userCode) })}`,
  };
}

/**
 * The device authorization endpoint (RFC 8628 §3.1, §3.2): an authenticated
 * client asks for a device code and a user code. Scope and resource default
 * as at the authorization endpoint; errors are RFC 6749 §5.2 JSON.
 */
export function deviceAuthorizationRoutes(deps: EndpointDeps, context: RequestContext) {
  const issuer = deps.config.publicUrl;
  return oauthEndpoint(
    deps,
    context,
    oauthPaths.deviceAuthorization,
    { body: "form", clientAuth: "required", cors: true },
    async ({ params, client }) => {
      if (client.kind === "service")
        throw new UnauthorizedClient(
          "A service account's client gets tokens with client_credentials, not the device flow.",
        );
      const scopes = normalizeScopes(parseScope(params.get("scope"), { ignoreUnknown: true }));
      const resource = requestedResource(issuer, params.get("resource"));
      const issued = await issueDeviceCode(deps.db, {
        clientId: client.id,
        scope: formatScope(scopes),
        resource,
        now: deps.now(),
      });
      return noStoreJson({
        device_code: issued.deviceCode,
        user_code: formatUserCode(issued.userCode),
        ...verificationUris(issuer, issued.userCode),
        expires_in: issued.expiresIn,
        interval: issued.interval,
      });
    },
  );
}
