import type { AuthInfo } from "@modelcontextprotocol/server";
import type { AuditContext } from "../audit/entry.ts";
import { accessLevelOf, type AccessLevel } from "../keys/api-keys.ts";
import type { LimitSource } from "./argument-gates.ts";

/** Who is calling /mcp, as established by the bearer check for this one request. */
export interface Caller {
  userId: string;
  email: string;
  /** The credential used: an API key, or a connection (an OAuth authorization) of some client. */
  via:
    | { kind: "api_key"; id: string; name: string }
    | { kind: "connection"; id: string; clientId: string; clientName: string };
  scopes: string[];
  /**
   * The write tools the key or connection was granted, by name; null: every
   * write tool. Only write tools are limited (gating.ts); a tool permission never
   * widens what the scopes allow.
   */
  tools: readonly string[] | null;
  /**
   * Argument limits every call must satisfy (argument-gates.ts): the key's
   * or connection's own, then each admin [[policy]] rule naming this person.
   */
  limits: readonly LimitSource[];
  access: AccessLevel;
  /** Unix seconds; null for an API key that never expires. */
  expiresAt: number | null;
}

export function newCaller(fields: Omit<Caller, "access" | "limits"> & { limits?: readonly LimitSource[] }): Caller {
  return { ...fields, limits: fields.limits ?? [], access: accessLevelOf(fields.scopes.join(" ")) };
}

/**
 * The SDK's per-request AuthInfo for a caller; tool handlers read it back as
 * `ctx.http.authInfo`. `token` holds the credential's public id, never the
 * secret, so no handler can pass the client's token on (it must not be).
 * `request` (request id, client address) is what the audit log records.
 */
export function authInfoOf(
  caller: Caller,
  resourceUrl: URL,
  resourceMetadataUrl: string,
  request: AuditContext | null = null,
): AuthInfo {
  return {
    token: caller.via.id,
    clientId: caller.via.kind === "connection" ? caller.via.clientId : `api_key:${caller.via.id}`,
    scopes: caller.scopes,
    ...(caller.expiresAt !== null && { expiresAt: caller.expiresAt }),
    resource: resourceUrl,
    resourceMetadataUrl,
    extra: { caller, request },
  };
}

/** The caller a request was authenticated as; null when the handler runs outside /mcp's bearer check. */
export function callerOf(authInfo: AuthInfo | undefined): Caller | null {
  const caller = authInfo?.extra?.caller;
  return caller && typeof caller === "object" ? (caller as Caller) : null;
}

/** The request id and client address authInfoOf was given; null outside /mcp. */
export function requestContextOf(authInfo: AuthInfo | undefined): AuditContext | null {
  const request = authInfo?.extra?.request;
  return request && typeof request === "object" ? (request as AuditContext) : null;
}
