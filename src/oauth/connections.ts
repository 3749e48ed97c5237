import { findUserById, listUsers } from "../accounts/users-store.ts";
import type { Store } from "../db/store.ts";
import { transaction } from "../db/transaction.ts";
import { accessLevelOf, type AccessLevel } from "../keys/api-keys.ts";
import type { ArgumentLimits } from "../mcp/argument-gates.ts";
import { findClientById } from "./clients-store.ts";
import {
  findAuthorization,
  listLiveAuthorizations,
  liveConnectionAuthorization,
  revokeAuthorizationAndTokens,
  updateAuthorizationLimits,
  type Authorization,
} from "./authorizations-store.ts";

// A connection is an approved authorization (an oauth_grants row) as the user sees it:
// a named entry beside their API keys that they can revoke at once.

export interface Connection {
  id: string;
  clientId: string;
  /** The client's name as a key name, e.g. "Claude (MCP connector)". */
  name: string;
  /** The client's own name, e.g. "Claude". */
  clientName: string;
  access: AccessLevel;
  /** The write tools granted on the consent page; null: every write tool (authorizations older than per-tool permissions). */
  tools: string[] | null;
  /** Argument limits (src/mcp/argument-gates.ts); null: none. */
  argumentLimits: ArgumentLimits | null;
  createdAt: number;
  lastUsedAt: number | null;
  userId: string;
  userEmail: string;
}

/** A client that names itself a connector already (claude.ai registers as "Claude (MCP connector)") is not named so twice. */
export function connectionName(clientName: string): string {
  return /\bconnector\b/i.test(clientName) ? clientName : `${clientName} (MCP connector)`;
}

/** Live connections of one user, or of everyone when userId is null; newest first. */
export async function listConnections(db: Store, userId: string | null): Promise<Connection[]> {
  const emails = new Map((await listUsers(db)).map((u) => [u.id, u.email]));
  return (await listLiveAuthorizations(db, userId)).map(({ authorization, clientName }) =>
    asConnection(authorization, clientName, emails.get(authorization.userId) ?? ""),
  );
}

function asConnection(authorization: Authorization, clientName: string, userEmail: string): Connection {
  return {
    id: authorization.id,
    clientId: authorization.clientId,
    name: connectionName(clientName),
    clientName,
    access: accessLevelOf(authorization.scope),
    tools: authorization.tools,
    argumentLimits: authorization.argumentLimits,
    createdAt: authorization.createdAt,
    lastUsedAt: authorization.lastUsedAt,
    userId: authorization.userId,
    userEmail,
  };
}

/**
 * A live connection of `ownerId` (of anyone when ownerId is null), as listed; null when
 * there is none. A service account's authorization is not one (it would stop the
 * account for good: it has no consent to give again).
 */
export async function findConnection(db: Store, id: string, ownerId: string | null): Promise<Connection | null> {
  const authorization = await findAuthorization(db, id);
  if (!authorization || authorization.revokedAt !== null) return null;
  if (ownerId !== null && authorization.userId !== ownerId) return null;
  const client = await findClientById(db, authorization.clientId);
  if (!client || client.kind === "service") return null;
  return asConnection(authorization, client.name, (await findUserById(db, authorization.userId))?.email ?? "");
}

/**
 * Ends a connection of `ownerId` (or of anyone when ownerId is null): the
 * authorization and every token it issued stop working at once. False when there is
 * no such live connection (as findConnection finds them).
 */
export function revokeConnection(
  db: Store,
  input: { id: string; ownerId: string | null; now: number },
): Promise<boolean> {
  return transaction(db, function* (tx) {
    // In the transaction: a connection revoked meanwhile is not revoked again (one true, one audit entry).
    if (!(yield* liveConnectionAuthorization(tx, input.id, input.ownerId))) return false;
    yield* revokeAuthorizationAndTokens(tx, input.id, input.now);
    return true;
  });
}

/**
 * Sets a connection's argument limits. The auth epoch trigger on
 * oauth_grants.argument_limits (migration 0008) makes /mcp drop its cached
 * copy, so the next call of any of its tokens is judged by the new limits.
 */
export function setConnectionLimits(db: Store, id: string, limits: ArgumentLimits | null): Promise<void> {
  return updateAuthorizationLimits(db, id, limits);
}
