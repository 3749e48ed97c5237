import type { Store } from "../db/store.ts";
import type { ApiKey } from "../keys/api-keys-store.ts";
import { newCredential, parseCredential, secretMatches } from "../security/tokens.ts";
import { deleteSession, findSession, insertSession, updateSessionExpiry, type Session } from "./sessions-store.ts";
import type { User } from "./users-store.ts";

export const sessionTtlSeconds = 14 * 86400;

export interface SignedIn {
  session: Session;
  user: User;
  /** The API key the session was opened with; null after a password or identity-provider sign-in. */
  apiKey: ApiKey | null;
}

/** Opens a session; returns the cookie value, shown to nobody else. */
export async function openSession(
  db: Store,
  input: { userId: string; apiKeyId: string | null; apiKeyExpiresAt: number | null; now: number },
): Promise<{ token: string; expiresAt: number }> {
  const { id, token, secretHash } = newCredential("");
  let expiresAt = input.now + sessionTtlSeconds;
  if (input.apiKeyExpiresAt !== null) expiresAt = Math.min(expiresAt, input.apiKeyExpiresAt);
  await insertSession(db, {
    id,
    userId: input.userId,
    secretHash,
    apiKeyId: input.apiKeyId,
    createdAt: input.now,
    expiresAt,
  });
  return { token, expiresAt };
}

/**
 * The session behind a cookie value, or null. A session ends when it expires,
 * its user is disabled, or the API key it was opened with is revoked or
 * expired. Active sessions slide forward, with one write per half lifetime.
 */
export async function validateSession(db: Store, token: string, now: number): Promise<SignedIn | null> {
  const parsed = parseCredential("", token);
  if (!parsed) return null;
  const found = await findSession(db, parsed.id);
  if (!found || !secretMatches(parsed.secret, found.session.secretHash)) return null;
  const { session, user, apiKey } = found;
  if (session.expiresAt <= now || user.disabledAt !== null) return null;
  if (session.apiKeyId !== null) {
    if (!apiKey || apiKey.revokedAt !== null) return null;
    if (apiKey.expiresAt !== null && apiKey.expiresAt <= now) return null;
  }
  if (session.apiKeyId === null && session.expiresAt - now < sessionTtlSeconds / 2) {
    session.expiresAt = now + sessionTtlSeconds;
    await updateSessionExpiry(db, session.id, session.expiresAt);
  }
  return { session, user, apiKey: session.apiKeyId === null ? null : apiKey };
}

export function closeSession(db: Store, sessionId: string): Promise<void> {
  return deleteSession(db, sessionId);
}
