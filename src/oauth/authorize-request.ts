// The authorization request (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1), checked in
// two phases, as the MCP SDK's authorize handler does. Pure: no I/O.
//
// Phase 1: until client_id and redirect_uri are known good, nothing may be
// sent to the redirect URI (RFC 6749 §4.1.2.1), so the user sees an error page.
// Phase 2: every later problem goes back to the client on its redirect URI.

import type { OAuthClient } from "./clients-store.ts";
import { InvalidRequest, OAuthError, UnsupportedResponseType } from "./errors.ts";
import { uniqueParams } from "./params.ts";
import { isStrongBridgeState } from "./bridge.ts";
import { redirectUriMatches } from "./redirect-uris.ts";
import { requestedResource } from "./resource.ts";
import { normalizeScopes, parseScope, type Scope } from "./scopes.ts";

export interface AuthorizationRequest {
  client: OAuthClient;
  redirectUri: string;
  /** Normalized: mcp:write comes with mcp:read. */
  scopes: Scope[];
  state: string | null;
  codeChallenge: string;
  resource: string;
}

export type AuthorizeCheck =
  | { kind: "valid"; request: AuthorizationRequest }
  /** Phase 1: shown to the user, never redirected. */
  | { kind: "show"; message: string }
  /** Phase 2: redirected to the client with error, state and iss. */
  | { kind: "redirect"; redirectUri: string; state: string | null; error: OAuthError };

// RFC 7636 §4.2: 43 to 128 unreserved characters.
const codeChallengePattern = /^[A-Za-z0-9._~-]{43,128}$/;

/** A parameter's value when it was sent exactly once and not empty, else null. */
export function singleParam(search: URLSearchParams, name: string): string | null {
  const values = search.getAll(name);
  return values.length === 1 && values[0] !== "" ? values[0]! : null;
}

/**
 * Checks an authorization request's query against its client (null when
 * client_id named no client). `publicUrl` is the issuer, the base of the one
 * protected resource; `bridgeUrl` is Gatehouse's own bridge callback.
 */
export function checkAuthorizeRequest(
  search: URLSearchParams,
  client: OAuthClient | null,
  publicUrl: string,
  bridgeUrl: string,
): AuthorizeCheck {
  const phase1 = checkClientAndRedirect(search, client, bridgeUrl);
  if (phase1.kind === "show") return phase1;
  const { client: known, redirectUri } = phase1;
  // A repeated state cannot be echoed: which one would the client expect?
  const state = singleParam(search, "state");
  const fail = (error: OAuthError): AuthorizeCheck => ({ kind: "redirect", redirectUri, state, error });

  const params = attempt(() => uniqueParams(search)); // RFC 6749 §3.1: no parameter may be sent twice
  if (params instanceof OAuthError) return fail(params);
  const responseType = params.get("response_type");
  // RFC 6749 §4.1.2.1: a missing parameter is invalid_request; an unknown response type is unsupported.
  if (responseType === undefined) return fail(new InvalidRequest("response_type is required and must be code."));
  if (responseType !== "code") return fail(new UnsupportedResponseType("Only response_type=code is supported."));

  const pkce = checkPkce(params);
  if (pkce instanceof OAuthError) return fail(pkce);

  const scopes = attempt(() => normalizeScopes(parseScope(params.get("scope"), { ignoreUnknown: true })));
  if (scopes instanceof OAuthError) return fail(scopes);

  // RFC 8707 §2: stored canonical, whichever spelling of it was sent.
  const resource = attempt(() => requestedResource(publicUrl, params.get("resource")));
  if (resource instanceof OAuthError) return fail(resource);

  return { kind: "valid", request: { client: known, redirectUri, scopes, state, codeChallenge: pkce, resource } };
}

function checkClientAndRedirect(
  search: URLSearchParams,
  client: OAuthClient | null,
  bridgeUrl: string,
): { kind: "show"; message: string } | { kind: "ok"; client: OAuthClient; redirectUri: string } {
  const show = (message: string) => ({ kind: "show" as const, message });
  const clientIds = search.getAll("client_id");
  if (clientIds.length !== 1 || clientIds[0] === "") {
    return show(
      clientIds.length > 1
        ? "The request names more than one client (client_id)."
        : "The request does not say which app is asking (client_id is missing).",
    );
  }
  if (!client || client.id !== clientIds[0])
    return show(
      "Gatehouse does not know the app asking for access, or could not read its details (unknown client_id).",
    );
  const redirectUris = search.getAll("redirect_uri");
  // MCP clients always send redirect_uri; requiring it keeps the code bound to one URI (OAuth 2.1 §4.1.1).
  if (redirectUris.length === 0 || redirectUris[0] === "")
    return show("The request does not say where to return to (redirect_uri is missing).");
  if (redirectUris.length > 1) return show("The request names more than one return address (redirect_uri).");
  // RFC 6749 §4.1.2.1 and RFC 8252 §7.3: exact match, any port on loopback.
  if (!redirectUriMatches(client.redirectUris, redirectUris[0]!)) {
    return show(
      "The return address (redirect_uri) is not one this app registered, so Gatehouse will not send you there.",
    );
  }
  // The polling bridge hands the code to whoever polls with the state, so a
  // guessable state would leak it; the redirect target is Gatehouse itself, so the error is a page.
  if (redirectUris[0] === bridgeUrl && !isStrongBridgeState(singleParam(search, "state"))) {
    return show(
      "This app uses the Gatehouse polling bridge but sent a weak state: it must be one state parameter of at least 32 characters of A-Z a-z 0-9 - . _ ~.",
    );
  }
  return { kind: "ok", client, redirectUri: redirectUris[0]! };
}

/** What `fn` returns, or the OAuth error it threw; anything else is a bug and propagates. */
function attempt<T>(fn: () => T): T | OAuthError {
  try {
    return fn();
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
}

/** The S256 code challenge, or why there is none (RFC 7636 §4.3, OAuth 2.1 §4.1.1). */
function checkPkce(params: Map<string, string>): string | OAuthError {
  const challenge = params.get("code_challenge");
  const method = params.get("code_challenge_method");
  if (challenge === undefined) return new InvalidRequest("code_challenge is required (PKCE with S256).");
  // A missing method means plain (RFC 7636 §4.3), which is not allowed here.
  if (method !== "S256") return new InvalidRequest("code_challenge_method must be S256.");
  if (!codeChallengePattern.test(challenge))
    return new InvalidRequest("code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~.");
  return challenge;
}
