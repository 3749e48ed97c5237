import { listUsers } from "../accounts/users-store.ts";
import { inTransaction, type Db } from "../db/client.ts";
import { accessLevelOf, type AccessLevel } from "../keys/api-keys.ts";
import type { ArgumentLimits } from "../mcp/argument-gates.ts";
import { findClientById } from "./clients-store.ts";
import { findGrant, listLiveGrants, revokeGrantAndTokens, updateGrantLimits } from "./grants-store.ts";

// A connection is an approved authorization (a grant) as the user sees it:
// a named entry beside their API keys that they can revoke at once.

export interface Connection {
  id: string;
  /** The client's name as a key name, e.g. "Claude (MCP connector)". */
  name: string;
  /** The client's own name, e.g. "Claude". */
  clientName: string;
  access: AccessLevel;
  /** The write tools granted on the consent page; null: every write tool (grants older than per-tool grants). */
  tools: string[] | null;
  /** Argument limits (src/mcp/argument-gates.ts); null: none. */
  argumentLimits: ArgumentLimits | null;
  createdAt: number;
  lastUsedAt: number | null;
  userEmail: string;
}

export function connectionName(clientName: string): string {
  return `${clientName} (MCP connector)`;
}

/** Live connections of one user, or of everyone when userId is null; newest first. */
export function listConnections(db: Db, userId: string | null): Connection[] {
  const emails = new Map(listUsers(db).map((u) => [u.id, u.email]));
  return listLiveGrants(db, userId).map(({ grant, clientName }) => ({
    id: grant.id,
    name: connectionName(clientName),
    clientName,
    access: accessLevelOf(grant.scope),
    tools: grant.tools,
    argumentLimits: grant.argumentLimits,
    createdAt: grant.createdAt,
    lastUsedAt: grant.lastUsedAt,
    userEmail: emails.get(grant.userId) ?? "",
  }));
}

/**
 * Ends a connection of `ownerId` (or of anyone when ownerId is null): the
 * grant and every token it issued stop working at once. False when there is
 * no such live connection; a service account's grant is not one (it would
 * stop the account for good: it has no consent to give again).
 */
export function revokeConnection(db: Db, input: { id: string; ownerId: string | null; now: number }): boolean {
  const grant = findGrant(db, input.id);
  if (!grant || grant.revokedAt !== null) return false;
  if (findClientById(db, grant.clientId)?.kind === "service") return false;
  if (input.ownerId !== null && grant.userId !== input.ownerId) return false;
  inTransaction(db, () => revokeGrantAndTokens(db, grant.id, input.now));
  return true;
}

/** A live connection of `ownerId`, for its owner to change; null when there is none. */
export function ownConnection(db: Db, id: string, ownerId: string) {
  const grant = findGrant(db, id);
  return grant && grant.revokedAt === null && grant.userId === ownerId ? grant : null;
}

/**
 * Sets a connection's argument limits. The auth epoch trigger on
 * oauth_grants.argument_limits (migration 0008) makes /mcp drop its cached
 * copy, so the next call of any of its tokens is judged by the new limits.
 */
export function setConnectionLimits(db: Db, id: string, limits: ArgumentLimits | null): void {
  updateGrantLimits(db, id, limits);
}
