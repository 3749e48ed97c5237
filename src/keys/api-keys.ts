import { deleteSessionsOfApiKey } from "../accounts/sessions-store.ts";
import { andThen, type Maybe } from "../db/execute-now.ts";
import type { Store } from "../db/store.ts";
import { transaction, type Steps } from "../db/transaction.ts";
import type { ArgumentLimits } from "../mcp/argument-gates.ts";
import { liveAuthorizationIdsOfApiKey, revokeAuthorizationAndTokens } from "../oauth/authorizations-store.ts";
import { newCredential, parseCredential, secretMatches } from "../security/tokens.ts";
import {
  apiKeyById,
  findApiKeyWithUser,
  findLiveApiKeyByName,
  insertApiKey,
  liveKeyIdsCreatedWith,
  markApiKeyRevoked,
  updateApiKeyLastUsed,
  type ApiKey,
  type ApiKeyWithUser,
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
export async function createApiKey(
  db: Store,
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
): Promise<{ apiKey: ApiKey; token: string }> {
  const name = input.name.trim();
  if (name.length === 0) throw new ApiKeyError("Give the key a name.");
  if (name.length > maxNameLength) throw new ApiKeyError(`The name must be at most ${maxNameLength} characters.`);
  if (!(input.access in accessScopes)) throw new ApiKeyError("The access level must be read or full.");
  const { apiKey, token } = newApiKey({ ...input, name });
  // Checked and inserted in one write transaction, so two creations at once cannot both take the name,
  // and a key session's key revoked meanwhile leaves no key made in its name behind.
  await transaction(db, function* (tx) {
    if (yield* findLiveApiKeyByName(tx, input.userId, name, input.now))
      throw new ApiKeyError(
        `There is already a live key named "${name}": choose another name, or rotate or revoke that key.`,
      );
    if (!(yield* createdWithIsLive(tx, input.createdWith)))
      throw new ApiKeyError("The API key you signed in with was revoked: sign in again.");
    yield* insertApiKey(tx, apiKey);
  });
  return { apiKey, token };
}

/** Makes a key from checked input, to store; its secret is returned once, as a token. */
function newApiKey(input: Parameters<typeof createApiKey>[1]): { apiKey: ApiKey; token: string } {
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
  return { apiKey, token };
}

/** Whether the key a session was opened with (if any) is still not revoked: revoking it revokes what it makes. */
function* createdWithIsLive(tx: Store, createdWith: Pick<ApiKey, "id"> | null | undefined): Steps<boolean> {
  if (!createdWith) return true;
  return (yield* apiKeyById(tx, createdWith.id))?.revokedAt === null;
}

/** The earlier of two expiries; null is never. */
function earliest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/**
 * The live key and its active user behind a presented token, or null: at
 * once on SQLite, lookup and last-use write alike (src/db/execute-now.ts).
 */
export function authenticateApiKey(db: Store, token: string, now: number): Maybe<ApiKeyWithUser | null> {
  const parsed = parseCredential(apiKeyPrefix, token);
  if (!parsed) return null;
  return andThen(findApiKeyWithUser(db, parsed.id), (found) => {
    if (!found || !secretMatches(parsed.secret, found.apiKey.secretHash)) return null;
    const { apiKey, user } = found;
    if (apiKey.revokedAt !== null || user.disabledAt !== null) return null;
    if (apiKey.expiresAt !== null && apiKey.expiresAt <= now) return null;
    return andThen(touchApiKey(db, apiKey, now), () => found);
  });
}

/** Sets the key's last use, at most once a minute. */
export function touchApiKey(db: Store, apiKey: { id: string; lastUsedAt: number | null }, now: number): Maybe<void> {
  if (apiKey.lastUsedAt !== null && now - apiKey.lastUsedAt < lastUsedResolutionSeconds) return;
  apiKey.lastUsedAt = now;
  return updateApiKeyLastUsed(db, apiKey.id, now);
}

/**
 * Revokes a key (of `ownerId`, or of anyone when ownerId is null), ends
 * every session opened with it, and revokes every OAuth authorization approved in
 * such a session, with its tokens ("rotating your API key revokes existing
 * MCP sessions"), and every key made in such a session, the same way down.
 * False when there is no such live key.
 */
export function revokeApiKey(db: Store, input: { id: string; ownerId: string | null; now: number }): Promise<boolean> {
  return transaction(db, function* (tx) {
    // In the transaction: the key's owner and state as they are when it is revoked.
    const key = yield* apiKeyById(tx, input.id);
    if (!key || (input.ownerId !== null && key.userId !== input.ownerId)) return false;
    return yield* revokeWithDescendants(tx, input.id, input.now);
  });
}

function* revokeWithDescendants(tx: Store, id: string, now: number): Steps<boolean> {
  if (!(yield* markApiKeyRevoked(tx, id, now))) return false;
  yield* deleteSessionsOfApiKey(tx, id);
  for (const grantId of yield* liveAuthorizationIdsOfApiKey(tx, id))
    yield* revokeAuthorizationAndTokens(tx, grantId, now);
  for (const child of yield* liveKeyIdsCreatedWith(tx, id)) yield* revokeWithDescendants(tx, child, now);
  return true;
}

/** What revoking or rotating key `id` ends besides it: live keys made with it, and its live authorizations ("apps"). */
export function endsWithApiKey(db: Store, id: string): Promise<{ keys: number; apps: number }> {
  return transaction(db, function* (tx) {
    const keys = (yield* liveKeyIdsCreatedWith(tx, id)).length;
    return { keys, apps: (yield* liveAuthorizationIdsOfApiKey(tx, id)).length };
  });
}

/**
 * A new secret under the same name, access, tools, argument limits and lifetime; the old key
 * stops working at once. Its name is not checked against the owner's other keys: rotating never
 * adds a key of a name, and a leaked key must always be rotatable (keys of one name made before
 * createApiKey refused them included). `createdWith`: as for createApiKey (a key session
 * that rotates a key holds the new secret, so the new key answers to the
 * session's key). Null when there is no such live key (or the session's key was revoked meanwhile).
 */
export function rotateApiKey(
  db: Store,
  input: { id: string; ownerId: string | null; now: number; createdWith?: Pick<ApiKey, "id" | "expiresAt"> | null },
): Promise<{ apiKey: ApiKey; token: string } | null> {
  return transaction(db, function* (tx) {
    // In the transaction: a key revoked or rotated meanwhile is not rotated (again), so one key has one successor.
    const old = yield* apiKeyById(tx, input.id);
    if (!old || old.revokedAt !== null) return null;
    if (input.ownerId !== null && old.userId !== input.ownerId) return null;
    if (!(yield* createdWithIsLive(tx, input.createdWith))) return null;
    yield* revokeWithDescendants(tx, old.id, input.now);
    const successor = newApiKey({
      userId: old.userId,
      name: old.name,
      access: accessLevelOf(old.scope),
      tools: old.tools,
      argumentLimits: old.argumentLimits,
      expiresInSeconds: old.expiresAt === null ? null : old.expiresAt - old.createdAt,
      now: input.now,
      createdWith: input.createdWith ?? null,
    });
    yield* insertApiKey(tx, successor.apiKey);
    return successor;
  });
}
