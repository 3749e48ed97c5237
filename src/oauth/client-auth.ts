import { secretMatches } from "../security/tokens.ts";
import { resolveClient, type ClientDeps } from "./clients.ts";
import type { OAuthClient, TokenEndpointAuthMethod } from "./clients-store.ts";
import { InvalidClient, InvalidRequest, OAuthError } from "./errors.ts";

// Client authentication at the token, revocation and introspection
// endpoints (RFC 6749 §2.3): `none` for public clients (client_id only),
// `client_secret_post`, or `client_secret_basic`. A client must use the
// method it registered; anything else is invalid_client.

interface Presented {
  method: TokenEndpointAuthMethod;
  clientId: string;
  secret: string | null;
}

/** The `Authorization: Basic` credentials, or null when the header is absent or another scheme. */
function basicCredentials(request: Request): { clientId: string; secret: string } | null {
  const header = request.headers.get("authorization");
  if (!header || !/^basic\b/i.test(header)) return null;
  const match = /^basic +(\S+)\s*$/i.exec(header);
  if (!match) throw new InvalidClient("The Basic credentials could not be read.");
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(match[1]!), (c) => c.charCodeAt(0)),
    );
  } catch {
    throw new InvalidClient("The Basic credentials are not valid base64.");
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new InvalidClient("The Basic credentials lack a colon.");
  // RFC 6749 §2.3.1: client_id and secret are form-urlencoded before Basic encoding.
  const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new InvalidClient("The Basic credentials are not form-urlencoded.");
  }
}

/** Which method the request used, and with what. RFC 6749 §2.3: never more than one. */
function presentedCredentials(request: Request, params: Map<string, string>): Presented {
  const basic = basicCredentials(request);
  const bodySecret = params.get("client_secret");
  const bodyId = params.get("client_id");
  if (basic) {
    if (bodySecret !== undefined)
      throw new InvalidRequest("Use one client authentication method, not Basic and client_secret both.");
    if (bodyId !== undefined && bodyId !== basic.clientId)
      throw new InvalidRequest("client_id differs from the Basic credentials.");
    return { method: "client_secret_basic", clientId: basic.clientId, secret: basic.secret };
  }
  if (bodyId === undefined) throw new InvalidClient("No client authentication was included: send client_id.");
  if (bodySecret !== undefined) return { method: "client_secret_post", clientId: bodyId, secret: bodySecret };
  return { method: "none", clientId: bodyId, secret: null };
}

/**
 * The client making the request, authenticated by its registered method.
 * Unknown clients are 401 invalid_client (RFC 6749 §5.2), so a client whose
 * registration is gone registers again.
 */
export async function authenticateClient(
  deps: ClientDeps,
  request: Request,
  params: Map<string, string>,
): Promise<OAuthClient> {
  const presented = presentedCredentials(request, params);
  const client = await resolveClient(deps, presented.clientId);
  if (!client) throw new InvalidClient("Unknown client. Register again.");
  // A service account's client is a script's: its secret is accepted by Basic or in the form.
  const methodOk =
    client.tokenEndpointAuthMethod === presented.method || (client.kind === "service" && presented.method !== "none");
  if (!methodOk) {
    throw new InvalidClient(
      `This client must authenticate with ${client.tokenEndpointAuthMethod}, not ${presented.method}.`,
    );
  }
  if (presented.method !== "none") {
    if (
      client.secretHash === null ||
      presented.secret === null ||
      !secretMatches(presented.secret, client.secretHash)
    ) {
      throw new InvalidClient("Client authentication failed.");
    }
  }
  return client;
}

/**
 * Whether the request names a client at all (Basic, client_id or
 * client_secret). RFC 7009 revocation without one relies on possession of
 * the token alone, which is enough only for a public client's token.
 */
export function presentsClient(request: Request, params: Map<string, string>): boolean {
  return (
    /^basic\b/i.test(request.headers.get("authorization") ?? "") ||
    params.has("client_id") ||
    params.has("client_secret")
  );
}

export function isConfidential(client: Pick<OAuthClient, "tokenEndpointAuthMethod">): boolean {
  return client.tokenEndpointAuthMethod !== "none";
}

/**
 * RFC 6749 §5.2: a client that authenticated with the Authorization header
 * and failed gets a challenge of the same scheme.
 */
export function clientAuthChallenge(request: Request, error: unknown): Record<string, string> {
  const header = request.headers.get("authorization") ?? "";
  if (error instanceof OAuthError && error.code === "invalid_client" && /^basic\b/i.test(header)) {
    return { "www-authenticate": 'Basic realm="gatehouse"' };
  }
  return {};
}
