import * as oauth from "oauth4webapi";
import { isLoopbackHost, type IdentityProviderConfig } from "./config.ts";
import { SignInRefused } from "./refusals.ts";

// What every request to a provider shares: 10 s each, redirects never
// followed (oauth4webapi sends redirect: "manual"; so do our own fetches),
// and plain http only where the config allowed it (loopback).

export const providerTimeoutMs = 10_000;

/** What a provider told us about the person. */
export interface ProviderIdentity {
  subject: string;
  /** Lowercased; null when the provider gave none. */
  email: string | null;
  emailVerified: boolean;
  /** GitHub organization logins (lowercased), fetched only when allowed_orgs is set. */
  orgs: string[] | null;
}

export function requestOptions(url: string) {
  return {
    signal: AbortSignal.timeout(providerTimeoutMs),
    [oauth.allowInsecureRequests]: new URL(url).protocol === "http:" && isLoopbackHost(new URL(url).hostname),
  };
}

export function client(provider: IdentityProviderConfig): { client: oauth.Client; auth: oauth.ClientAuth } {
  return {
    client: { client_id: provider.clientId },
    auth: provider.clientSecret === null ? oauth.None() : oauth.ClientSecretPost(provider.clientSecret),
  };
}

/** An error from a provider exchange as a refusal: the person's page says what kind, the log says the rest. */
export function asRefusal(error: unknown): SignInRefused {
  if (error instanceof SignInRefused) return error;
  if (error instanceof oauth.AuthorizationResponseError) {
    return new SignInRefused(
      error.error === "access_denied" ? "access_denied" : "provider_error",
      `${error.error}: ${error.error_description ?? ""}`,
    );
  }
  if (error instanceof oauth.ResponseBodyError)
    return new SignInRefused("provider_error", `${error.error}: ${error.error_description ?? ""}`);
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  // fetch failures (TypeError, connection refused) and the 10 s timeout.
  if (
    name === "TimeoutError" ||
    name === "AbortError" ||
    (error instanceof TypeError && !(error instanceof oauth.OperationProcessingError))
  ) {
    return new SignInRefused("provider_unreachable", `${name}: ${message}`);
  }
  return new SignInRefused(
    "invalid_response",
    `${name}: ${message}${error instanceof oauth.OperationProcessingError && error.code ? ` (${error.code})` : ""}`,
  );
}
