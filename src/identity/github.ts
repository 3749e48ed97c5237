import * as oauth from "oauth4webapi";
import { normalizeEmail } from "../accounts/users.ts";
import type { IdentityProviderConfig } from "./config.ts";
import type { SignInFlow } from "./flow-cookie.ts";
import { SignInRefused } from "./refusals.ts";
import { client, providerTimeoutMs, requestOptions, type ProviderIdentity } from "./outbound.ts";

// GitHub (and GitHub Enterprise) is OAuth 2 without OpenID Connect: the
// endpoints are built from github_url, the person is read from the REST API:
// the numeric id is the subject, the email is the primary one if verified.

function server(provider: IdentityProviderConfig): oauth.AuthorizationServer {
  const base = provider.githubUrl.replace(/\/+$/, "");
  return {
    issuer: base,
    authorization_endpoint: `${base}/login/oauth/authorize`,
    token_endpoint: `${base}/login/oauth/access_token`,
  };
}

export async function githubAuthorizationUrl(
  provider: IdentityProviderConfig,
  flow: SignInFlow,
  redirectUri: string,
): Promise<URL> {
  const url = new URL(server(provider).authorization_endpoint!);
  url.searchParams.set("client_id", provider.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("scope", provider.allowedOrgs.length ? "read:user user:email read:org" : "read:user user:email");
  url.searchParams.set("state", flow.state);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(flow.verifier));
  url.searchParams.set("code_challenge_method", "S256");
  return url;
}

export async function githubIdentity(
  provider: IdentityProviderConfig,
  flow: SignInFlow,
  callback: URL,
  redirectUri: string,
): Promise<ProviderIdentity> {
  const as = server(provider);
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
  // GitHub answers a refused code with 200 and an `error` member, not RFC 6749's 400.
  const refused = (await response
    .clone()
    .json()
    .catch(() => null)) as { error?: unknown; error_description?: unknown } | null;
  if (typeof refused?.error === "string")
    throw new SignInRefused("provider_error", `${refused.error}: ${String(refused.error_description ?? "")}`);
  const { access_token: token } = await oauth.processAuthorizationCodeResponse(as, c, response);
  const user = await api(provider, token, "/user");
  const id = isRecord(user) ? user.id : undefined;
  if (typeof id !== "number" || !Number.isSafeInteger(id))
    throw new oauth.OperationProcessingError("GitHub's /user has no numeric id");
  const emails = await api(provider, token, "/user/emails");
  const primary = Array.isArray(emails) ? emails.find((e) => isRecord(e) && e.primary === true) : undefined;
  const email = isRecord(primary) && typeof primary.email === "string" ? normalizeEmail(primary.email) : null;
  let orgs: string[] | null = null;
  if (provider.allowedOrgs.length) {
    const list = await api(provider, token, "/user/orgs?per_page=100");
    orgs = Array.isArray(list)
      ? list.flatMap((o) => (isRecord(o) && typeof o.login === "string" ? [o.login.toLowerCase()] : []))
      : [];
  }
  return { subject: String(id), email, emailVerified: isRecord(primary) && primary.verified === true, orgs };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** GET on GitHub's REST API; anything but a 200 JSON answer is an invalid response. */
async function api(provider: IdentityProviderConfig, token: string, path: string): Promise<unknown> {
  const url = `${provider.githubApiUrl.replace(/\/+$/, "")}${path}`;
  const res = await fetch(url, {
    headers: {
      authorization: `Bearer ${token}`,
      accept: "application/vnd.github+json",
      "user-agent": "Gatehouse",
      "x-github-api-version": "2022-11-28",
    },
    redirect: "manual",
    signal: AbortSignal.timeout(providerTimeoutMs),
  });
  if (res.status !== 200) throw new oauth.OperationProcessingError(`GitHub answered ${res.status} to ${path}`);
  try {
    return await res.json();
  } catch {
    throw new oauth.OperationProcessingError(`GitHub's ${path} is not JSON`);
  }
}
