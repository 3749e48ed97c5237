import { pendingRequestTtlSeconds } from "./authorize.ts";
import { bridgeCallbackUrl, pollBridge, pollParams } from "../bridge.ts";
import { oauthPaths } from "../paths.ts";
import { noStoreJson, oauthEndpoint, type EndpointDeps } from "./endpoint.ts";
import type { RequestContext } from "../../http/request-context.ts";

/**
 * The polling bridge's poll, which a browser plugin may call cross-origin
 * without cookies, as it calls the token endpoint. It takes a POST body or,
 * as plugins written for the Figma-style bridge send it, a GET query
 * (`?state=…`): the same parameters, the same answers. The request log keeps
 * only the path (src/http/request-context.ts), so the state in a GET's query never reaches the log.
 */
export function bridgePollRoutes(deps: EndpointDeps, context: RequestContext) {
  const issuer = deps.config.publicUrl;
  const bridgeUrl = bridgeCallbackUrl(issuer);
  const options = { body: "form-or-json", clientAuth: "none", cors: true, queryOnGet: true } as const;
  return oauthEndpoint(deps, context, oauthPaths.bridgePoll, options, async ({ params, audit }) => {
    const { state, clientId } = pollParams(params);
    const { code } = await pollBridge(deps.db, {
      state,
      clientId,
      now: deps.now(),
      bridgeUrl,
      pendingTtlSeconds: pendingRequestTtlSeconds,
    });
    audit.record({ event: "bridge_code_delivered", outcome: "ok", clientId });
    // RFC 9207 §2: iss, as the redirect would have carried it.
    return noStoreJson({ code, state, iss: issuer });
  });
}
