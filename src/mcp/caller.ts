import type { AuthInfo } from "@modelcontextprotocol/server";
import { accessLevelOf, type AccessLevel } from "../keys/api-keys.ts";

/** Who is calling /mcp, as established by the bearer check for this one request. */
export interface Caller {
  userId: string;
  email: string;
  /** The credential used: an API key, or a connection (an OAuth grant) of some client. */
  via: { kind: "api_key"; id: string; name: string } | { kind: "connection"; id: string; clientId: string; clientName: string };
  scopes: string[];
  access: AccessLevel;
  /** Unix seconds; null for an API key that never expires. */
  expiresAt: number | null;
}

export function newCaller(fields: Omit<Caller, "access">): Caller {
  return { ...fields, access: accessLevelOf(fields.scopes.join(" ")) };
}

/**
 * The SDK's per-request AuthInfo for a caller; tool handlers read it back as
 * `ctx.http.authInfo`. `token` holds the credential's public id, never the
 * secret, so no handler can pass the client's token on (it must not be).
 */
export function authInfoOf(caller: Caller, resourceUrl: string, resourceMetadataUrl: string): AuthInfo {
  return {
    token: caller.via.id,
    clientId: caller.via.kind === "connection" ? caller.via.clientId : `api_key:${caller.via.id}`,
    scopes: caller.scopes,
    ...(caller.expiresAt !== null && { expiresAt: caller.expiresAt }),
    resource: new URL(resourceUrl),
    resourceMetadataUrl,
    extra: { caller },
  };
}

/** The caller a request was authenticated as; null when the handler runs outside /mcp's bearer check. */
export function callerOf(authInfo: AuthInfo | undefined): Caller | null {
  const caller = authInfo?.extra?.caller;
  return caller && typeof caller === "object" ? (caller as Caller) : null;
}
