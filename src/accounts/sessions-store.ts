import { eq, lte } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { apiKeys, sessions, users } from "../db/schema.ts";
import { q, type Steps } from "../db/transaction.ts";
import type { User } from "./users-store.ts";

export type Session = typeof sessions.$inferSelect;
type ApiKeyRow = typeof apiKeys.$inferSelect;

export function insertSession(db: Store, session: Session): void {
  db.insert(sessions).values(session).run();
}

export function findSession(db: Store, id: string): { session: Session; user: User; apiKey: ApiKeyRow | null } | null {
  const row = db
    .select({ session: sessions, user: users, apiKey: apiKeys })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(apiKeys, eq(apiKeys.id, sessions.apiKeyId))
    .where(eq(sessions.id, id))
    .get();
  return row ?? null;
}

export function updateSessionExpiry(db: Store, id: string, expiresAt: number): void {
  db.update(sessions).set({ expiresAt }).where(eq(sessions.id, id)).run();
}

export function deleteSession(db: Store, id: string): void {
  db.delete(sessions).where(eq(sessions.id, id)).run();
}

export function* deleteSessionsOfUser(tx: Store, userId: string): Steps<void> {
  yield* q(tx.delete(sessions).where(eq(sessions.userId, userId)));
}

export function* deleteSessionsOfApiKey(tx: Store, apiKeyId: string): Steps<void> {
  yield* q(tx.delete(sessions).where(eq(sessions.apiKeyId, apiKeyId)));
}

export function deleteExpiredSessions(db: Store, now: number): number {
  return db.delete(sessions).where(lte(sessions.expiresAt, now)).returning({ id: sessions.id }).all().length;
}
