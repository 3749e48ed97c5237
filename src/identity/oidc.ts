import * as oauth from "oauth4webapi";
import { normalizeEmail } from "../accounts/users.ts";
import type { IdentityProviderConfig } from "./config.ts";
import type { SignInFlow } from "./flow-cookie.ts";
import { client, requestOptions, type ProviderIdentity } from "./outbound.ts";

// OpenID Connect (Google, Keycloak, any issuer): discovery from the issuer,
// authorization code with PKCE S256, state and nonce, and the ID token's
// iss, aud, exp and nonce checked by oauth4webapi.

/** How long a discovery document is reused: one sign-in's start and callback, and the sign-ins soon after. */
const discoveryTtlMs = 60 * 60 * 1000;

/** The issuer's metadata; processDiscoveryResponse refuses a document naming another issuer (OIDC Discovery §4.3). */
async function discover(provider: IdentityProviderConfig): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(provider.issuer!);
  const response = await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...requestOptions(issuer.href) });
  return oauth.processDiscoveryResponse(issuer, response);
}

export type Discovery = (provider: IdentityProviderConfig) => Promise<oauth.AuthorizationServer>;

/** Discovery per provider, kept for an hour once it succeeded; a failure is not kept, so the next sign-in asks again. */
export function cachedDiscovery(): Discovery {
  const cache = new Map<string, { at: number; as: oauth.AuthorizationServer }>();
  return async (provider) => {
    const hit = cache.get(provider.id);
    if (hit && Date.now() - hit.at < discoveryTtlMs) return hit.as;
    const as = await discover(provider);
    cache.set(provider.id, { at: Date.now(), as });
    return as;
  };
}

export async function oidcAuthorizationUrl(
  discovery: Discovery,
  provider: IdentityProviderConfig,
  flow: SignInFlow,
  redirectUri: string,
): Promise<URL> {
  const as = await discovery(provider);
  if (!as.authorization_endpoint)
    throw new oauth.OperationProcessingError("the discovery document has no authorization_endpoint");
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set("client_id", provider.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", "openid email profile");
  url.searchParams.set("state", flow.state);
  url.searchParams.set("nonce", flow.nonce);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(flow.verifier));
  url.searchParams.set("code_challenge_method", "S256");
  return url;
}

/** Finishes the flow: checks the redirect (state, iss, error), redeems the code, validates the ID token. */
export async function oidcIdentity(
  discovery: Discovery,
  provider: IdentityProviderConfig,
  flow: SignInFlow,
  callback: URL,
  redirectUri: string,
): Promise<ProviderIdentity> {
  const as = await discovery(provider);
  const { client: c, auth } = client(provider);
  const params = oauth.validateAuthResponse(as, c, callback, flow.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    c,
    auth,
    params,
    redirectUri,
    flow.verifier,
    requestOptions(as.token_endpoint!),
  );
  // Checks iss, aud, exp, iat and nonce; the signature needs no check for an ID token taken
  // straight from the token endpoint over TLS (OIDC Core §3.1.3.7 item 6).
  const tokens = await oauth.processAuthorizationCodeResponse(as, c, response, {
    expectedNonce: flow.nonce,
    requireIdToken: true,
  });
  const claims = oauth.getValidatedIdTokenClaims(tokens)!;
  let email = claims.email;
  let verified = claims.email_verified;
  // Many providers put email only in UserInfo for the code flow (OIDC Core §5.4); its `sub` must match the ID token's.
  if (typeof email !== "string" && as.userinfo_endpoint) {
    const info = await oauth.processUserInfoResponse(
      as,
      c,
      claims.sub,
      await oauth.userInfoRequest(as, c, tokens.access_token, requestOptions(as.userinfo_endpoint)),
    );
    email = info.email;
    verified = info.email_verified;
  }
  return {
    subject: claims.sub,
    email: typeof email === "string" ? normalizeEmail(email) : null,
    emailVerified: verified === true,
    orgs: null,
  };
}
