import type { TokenEndpointAuthMethod } from "./clients-store.ts";
import { InvalidClientMetadata, InvalidRedirectUri } from "./errors.ts";
import { redirectUriProblem } from "./redirect-uris.ts";
import { formatScope, supportedScopes } from "./scopes.ts";

// RFC 7591 §2 client metadata: what a registration request may ask for, pure.
// Where the RFC lets the server "reject or replace" a value (§3.2.1), a
// value nobody can use is replaced rather than failing the registration,
// because real clients send more than we support:
// - grant_types: unsupported grant types (client_credentials, implicit, ...)
//   are dropped, but authorization_code or the device_code grant must be
//   among them. A device-only client (a CLI, a TV) needs no redirect URI.
// - scope: words we do not know (offline_access, openid, ...) are dropped;
//   the registered scope limits nothing here, consent does.
// Everything that binds security is strict: redirect URIs, the
// authentication method, response types, and the types of every field.

export const deviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code";
export const supportedGrantTypes = ["authorization_code", "refresh_token", deviceCodeGrantType] as const;
export type GrantType = (typeof supportedGrantTypes)[number];
const authMethods: TokenEndpointAuthMethod[] = ["none", "client_secret_post", "client_secret_basic"];
export const maxRedirectUris = 20;
const maxRedirectUriLength = 2000;
export const maxClientNameLength = 200;

export interface ClientRegistration {
  /** The name as sent, trimmed; "" when none was sent. */
  clientName: string;
  redirectUris: string[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  grantTypes: GrantType[];
  /** Registered scope: the supported words asked for, or every supported scope. */
  scope: string;
  clientUri: string | null;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/**
 * The redirect URIs a client may register: 1 to 20, each allowed by
 * redirectUriProblem (https, loopback http, private-use schemes; no
 * fragments or dangerous schemes). Duplicates are dropped. Pure.
 */
export function checkRedirectUris(value: unknown): string[] {
  if (value === undefined) throw new InvalidRedirectUri("redirect_uris is required.");
  if (!isStringArray(value) || value.length === 0)
    throw new InvalidRedirectUri("redirect_uris must be a non-empty array of strings.");
  if (value.length > maxRedirectUris)
    throw new InvalidRedirectUri(`At most ${maxRedirectUris} redirect_uris may be registered.`);
  for (const uri of value) {
    if (uri.length > maxRedirectUriLength)
      throw new InvalidRedirectUri(`A redirect URI is longer than ${maxRedirectUriLength} characters.`);
    const problem = redirectUriProblem(uri);
    if (problem) throw new InvalidRedirectUri(`${problem}.`);
  }
  return [...new Set(value)];
}

/** Why `name` cannot be a client's name, or null. */
export function clientNameProblem(name: string): string | null {
  if (name.length > maxClientNameLength) return `The client name must be at most ${maxClientNameLength} characters.`;
  // Control characters have no place in a name shown on consent and admin pages.
  if (/[\u0000-\u001f\u007f]/.test(name)) return "The client name must not contain control characters.";
  return null;
}

function checkClientName(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new InvalidClientMetadata("client_name must be a string.");
  const problem = clientNameProblem(value.trim());
  if (problem) throw new InvalidClientMetadata(problem.replace("The client name", "client_name"));
  return value.trim();
}

function checkAuthMethod(value: unknown): TokenEndpointAuthMethod {
  // Absent means `none`, not RFC 7591's client_secret_basic: MCP clients that
  // omit it are public PKCE clients, and the 201 response states the method
  // registered, so a client that wanted a secret can see it got none.
  if (value === undefined || value === null) return "none";
  if (typeof value !== "string" || !authMethods.includes(value as TokenEndpointAuthMethod)) {
    throw new InvalidClientMetadata(`token_endpoint_auth_method must be one of ${authMethods.join(", ")}.`);
  }
  return value as TokenEndpointAuthMethod;
}

function checkGrantTypes(value: unknown): GrantType[] {
  // Absent: what MCP clients use (RFC 7591's default is authorization_code alone).
  if (value === undefined || value === null) return ["authorization_code", "refresh_token"];
  if (!isStringArray(value)) throw new InvalidClientMetadata("grant_types must be an array of strings.");
  if (!value.includes("authorization_code") && !value.includes(deviceCodeGrantType)) {
    throw new InvalidClientMetadata(`grant_types must include authorization_code or ${deviceCodeGrantType}.`);
  }
  return supportedGrantTypes.filter((g) => value.includes(g));
}

function checkResponseTypes(value: unknown): void {
  if (value === undefined || value === null) return;
  if (!isStringArray(value) || value.some((t) => t !== "code"))
    throw new InvalidClientMetadata('response_types may only contain "code".');
}

function checkScope(value: unknown): string {
  if (value === undefined || value === null) return formatScope(supportedScopes);
  if (typeof value !== "string") throw new InvalidClientMetadata("scope must be a space-separated string.");
  const known = formatScope(value.split(" ").filter(Boolean));
  return known || formatScope(supportedScopes);
}

function checkClientUri(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw new InvalidClientMetadata("client_uri must be a string.");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidClientMetadata("client_uri must be an absolute URL.");
  }
  // It may become a link on a page: web URLs only.
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new InvalidClientMetadata("client_uri must be an http or https URL.");
  return value;
}

/** Validates an RFC 7591 §3.1 registration request body; unknown fields are ignored (§2). */
export function parseRegistrationRequest(body: unknown): ClientRegistration {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new InvalidClientMetadata("The body must be a JSON object.");
  const b = body as Record<string, unknown>;
  const grantTypes = checkGrantTypes(b.grant_types);
  // §2: redirect_uris is for redirect-based flows; a device-only client may omit it.
  const deviceOnly = !grantTypes.includes("authorization_code");
  const redirectUris = deviceOnly && b.redirect_uris === undefined ? [] : checkRedirectUris(b.redirect_uris);
  checkResponseTypes(b.response_types);
  return {
    clientName: checkClientName(b.client_name),
    redirectUris,
    tokenEndpointAuthMethod: checkAuthMethod(b.token_endpoint_auth_method),
    grantTypes,
    scope: checkScope(b.scope),
    clientUri: checkClientUri(b.client_uri),
  };
}

/** A display name for a client that sent none: its first redirect URI's host. */
export function fallbackClientName(redirectUris: readonly string[]): string {
  try {
    return new URL(redirectUris[0]!).host || "Unnamed client";
  } catch {
    return "Unnamed client";
  }
}
