import { deleteSessionsOfApiKey } from "../accounts/sessions-store.ts";
import { inTransaction, type Db } from "../db/client.ts";
import type { ArgumentLimits } from "../mcp/argument-gates.ts";
import { liveAuthorizationIdsOfApiKey, revokeAuthorizationAndTokens } from "../oauth/authorizations-store.ts";
import { newCredential, parseCredential, secretMatches } from "../security/tokens.ts";
import {
  findApiKeyWithUser,
  findLiveApiKeyByName,
  insertApiKey,
  liveKeyIdsCreatedWith,
  markApiKeyRevoked,
  updateApiKeyLastUsed,
  type ApiKey,
} from "./api-keys-store.ts";

/** Secret scanners can match `gate_key_[a-z2-7]{16}_[a-z2-7]{52}`. */
export const apiKeyPrefix = "gate_key_";

export const accessScopes = { read: "mcp:read", full: "mcp:read mcp:write" } as const;
export type AccessLevel = keyof typeof accessScopes;

// last_used_at is rewritten at most this often per key, so authenticating
// is a read, not a write, on almost every request.
const lastUsedResolutionSeconds = 60;
const maxNameLength = 100;

export class ApiKeyError extends Error {}

export function accessLevelOf(scope: string): AccessLevel {
  return scope.split(" ").includes("mcp:write") ? "full" : "read";
}

/**
 * A new key. `tools` limits a Full key to those write tools (names already
 * checked against the catalogue); null or absent: every write tool. A
 * Read-only key records no tools. `argumentLimits` limits the argument
 * values of those tools (argument-gates.ts; already checked). `createdWith`:
 * the key whose sign-in session makes this one; the new key expires no
 * later than it, and revoking it revokes the new key too. A name one of
 * the user's live keys has (ASCII case aside) is refused: a list of keys
 * is told apart by name, when revoking the one that leaked.
 */
export function createApiKey(
  db: Db,
  input: {
    userId: string;
    name: string;
    access: AccessLevel;
    tools?: readonly string[] | null;
    argumentLimits?: ArgumentLimits | null;
    expiresInSeconds: number | null;
    now: number;
    createdWith?: Pick<ApiKey, "id" | "expiresAt"> | null;
  },
): { apiKey: ApiKey; token: string } {
  const name = input.name.trim();
  if (name.length === 0) throw new ApiKeyError("Give the key a name.");
  if (name.length > maxNameLength) throw new ApiKeyError(`The name must be at most ${maxNameLength} characters.`);
  if (!(input.access in accessScopes)) throw new ApiKeyError("The access level must be read or full.");
  // Checked and inserted in one write transaction, so two creations at once cannot both take the name.
  return inTransaction(db, () => {
    if (findLiveApiKeyByName(db, input.userId, name, input.now))
      throw new ApiKeyError(
        `There is already a live key named "${name}": choose another name, or rotate or revoke that key.`,
      );
    return insertNewApiKey(db, { ...input, name });
  });
}

/** Makes and stores a key from checked input; its secret is returned once, as a token. */
function insertNewApiKey(db: Db, input: Parameters<typeof createApiKey>[1]): { apiKey: ApiKey; token: string } {
  const { name } = input;
  const { id, token, secretHash } = newCredential(apiKeyPrefix);
  const apiKey: ApiKey = {
    id,
    userId: input.userId,
    name,
    secretHash,
    scope: accessScopes[input.access],
    tools: input.access === "full" ? (input.tools ? [...input.tools] : null) : [],
    argumentLimits: input.access === "full" ? (input.argumentLimits ?? null) : null,
    createdAt: input.now,
    expiresAt: earliest(
      input.expiresInSeconds === null ? null : input.now + input.expiresInSeconds,
      input.createdWith?.expiresAt ?? null,
    ),
    lastUsedAt: null,
    revokedAt: null,
    createdWithKeyId: input.createdWith?.id ?? null,
  };
  insertApiKey(db, apiKey);
  return { apiKey, token };
}

/** The earlier of two expiries; null is never. */
function earliest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** The live key and its active user behind a presented token, or null. */
export function authenticateApiKey(db: Db, token: string, now: number) {
  const parsed = parseCredential(apiKeyPrefix, token);
  if (!parsed) return null;
  const found = findApiKeyWithUser(db, parsed.id);
  if (!found || !secretMatches(parsed.secret, found.apiKey.secretHash)) return null;
  const { apiKey, user } = found;
  if (apiKey.revokedAt !== null || user.disabledAt !== null) return null;
  if (apiKey.expiresAt !== null && apiKey.expiresAt <= now) return null;
  touchApiKey(db, apiKey, now);
  return found;
}

/** Sets the key's last use, at most once a minute. */
export function touchApiKey(db: Db, apiKey: { id: string; lastUsedAt: number | null }, now: number): void {
  if (apiKey.lastUsedAt !== null && now - apiKey.lastUsedAt < lastUsedResolutionSeconds) return;
  apiKey.lastUsedAt = now;
  updateApiKeyLastUsed(db, apiKey.id, now);
}

/**
 * Revokes a key (of `ownerId`, or of anyone when ownerId is null), ends
 * every session opened with it, and revokes every OAuth authorization approved in
 * such a session, with its tokens ("rotating your API key revokes existing
 * MCP sessions"), and every key made in such a session, the same way down.
 * False when there is no such live key.
 */
export function revokeApiKey(db: Db, input: { id: string; ownerId: string | null; now: number }): boolean {
  const found = findApiKeyWithUser(db, input.id);
  if (!found || (input.ownerId !== null && found.apiKey.userId !== input.ownerId)) return false;
  return inTransaction(db, () => revokeWithDescendants(db, input.id, input.now));
}

function revokeWithDescendants(db: Db, id: string, now: number): boolean {
  if (!markApiKeyRevoked(db, id, now)) return false;
  deleteSessionsOfApiKey(db, id);
  for (const grantId of liveAuthorizationIdsOfApiKey(db, id)) revokeAuthorizationAndTokens(db, grantId, now);
  for (const child of liveKeyIdsCreatedWith(db, id)) revokeWithDescendants(db, child, now);
  return true;
}

/**
 * A new secret under the same name, access, tools, argument limits and lifetime; the old key
 * stops working at once. Its name is not checked against the owner's other keys: rotating never
 * adds a key of a name, and a leaked key must always be rotatable (keys of one name made before
 * createApiKey refused them included). `createdWith`: as for createApiKey (a key session
 * that rotates a key holds the new secret, so the new key answers to the
 * session's key).
 */
export function rotateApiKey(
  db: Db,
  input: { id: string; ownerId: string | null; now: number; createdWith?: Pick<ApiKey, "id" | "expiresAt"> | null },
): { apiKey: ApiKey; token: string } | null {
  const found = findApiKeyWithUser(db, input.id);
  if (!found || found.apiKey.revokedAt !== null) return null;
  if (input.ownerId !== null && found.apiKey.userId !== input.ownerId) return null;
  const old = found.apiKey;
  return inTransaction(db, () => {
    revokeApiKey(db, input);
    return insertNewApiKey(db, {
      userId: old.userId,
      name: old.name,
      access: accessLevelOf(old.scope),
      tools: old.tools,
      argumentLimits: old.argumentLimits,
      expiresInSeconds: old.expiresAt === null ? null : old.expiresAt - old.createdAt,
      now: input.now,
      createdWith: input.createdWith ?? null,
    });
  });
}
