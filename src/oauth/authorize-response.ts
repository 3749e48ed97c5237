// Where the authorization response goes, and how the consent page names and
// allows that place. Pure: no I/O.

import { cspAllowingForms } from "../security/csp.ts";
import { isLoopbackRedirect } from "./redirect-uris.ts";

/**
 * The redirect URI with the response parameters appended to its own query
 * (RFC 6749 §3.1.2: the URI's query is kept; §4.1.2 and §4.1.2.1 for the
 * parameters) and `iss` always set (RFC 9207 §2). The URI's bytes are kept
 * as registered, so an exact-match client recognizes its own callback.
 */
export function authorizationResponseUrl(
  redirectUri: string,
  params: { code?: string; error?: string; error_description?: string; state: string | null; iss: string },
): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (typeof value === "string") query.append(key, value);
  const separator = !redirectUri.includes("?") ? "?" : /[?&]$/.test(redirectUri) ? "" : "&";
  return `${redirectUri}${separator}${query}`;
}

/**
 * How the consent page names the place the user will be sent back to: the
 * host (with port) for http(s), or scheme and host for an app's own scheme
 * (`cursor://anysphere.cursor-mcp`), which is what a person can recognize.
 */
export function redirectTargetLabel(redirectUri: string): { label: string; loopback: boolean } {
  const url = new URL(redirectUri);
  if (url.protocol === "https:" || url.protocol === "http:")
    return { label: url.host, loopback: isLoopbackRedirect(url) };
  return { label: url.host ? `${url.protocol}//${url.host}` : url.protocol, loopback: false };
}

/**
 * The CSP source that lets the consent form's POST be redirected to the
 * client: Chrome applies `form-action` to the redirect after a form
 * submission (CSP Level 3 `form-action`), so `'self'` alone would block it.
 * An origin for http(s), the scheme for private-use schemes. CSP host
 * sources cannot express an IPv6 literal, so `[::1]` falls back to `http:`.
 */
export function formActionSource(redirectUri: string): string {
  const url = new URL(redirectUri);
  if (url.protocol === "https:" || url.protocol === "http:") {
    return /^[a-z0-9.-]+$/i.test(url.hostname) ? url.origin : url.protocol;
  }
  return url.protocol;
}

/** The consent page's CSP: the pages' own, its form allowed to be redirected to the redirect target. */
export function consentPageCsp(redirectUri: string): string {
  return cspAllowingForms([formActionSource(redirectUri)]);
}

/** For a Client ID Metadata Document client (its client_id is the document's https URL), the host the document came from. */
export function metadataDocumentHost(client: { kind: string; id: string }): string | null {
  if (client.kind !== "cimd" || !URL.canParse(client.id)) return null;
  return new URL(client.id).host;
}
