import { eq, lte } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import type { apiKeys, sessions } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";
import type { User } from "./users-store.ts";

export type Session = typeof sessions.$inferSelect;
type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function insertSession(db: Store, session: Session): Promise<void> {
  await db.insert(db.tables.sessions).values(session);
}

export async function findSession(
  db: Store,
  id: string,
): Promise<{ session: Session; user: User; apiKey: ApiKeyRow | null } | null> {
  const { sessions, users, apiKeys } = db.tables;
  return first(
    await db
      .select({ session: sessions, user: users, apiKey: apiKeys })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .leftJoin(apiKeys, eq(apiKeys.id, sessions.apiKeyId))
      .where(eq(sessions.id, id))
      .limit(1),
  );
}

export async function updateSessionExpiry(db: Store, id: string, expiresAt: number): Promise<void> {
  const { sessions } = db.tables;
  await db.update(sessions).set({ expiresAt }).where(eq(sessions.id, id));
}

export async function deleteSession(db: Store, id: string): Promise<void> {
  const { sessions } = db.tables;
  await db.delete(sessions).where(eq(sessions.id, id));
}

export function* deleteSessionsOfUser(tx: Store, userId: string): Steps<void> {
  const { sessions } = tx.tables;
  yield* q(tx.delete(sessions).where(eq(sessions.userId, userId)));
}

export function* deleteSessionsOfApiKey(tx: Store, apiKeyId: string): Steps<void> {
  const { sessions } = tx.tables;
  yield* q(tx.delete(sessions).where(eq(sessions.apiKeyId, apiKeyId)));
}

export async function deleteExpiredSessions(db: Store, now: number): Promise<number> {
  const { sessions } = db.tables;
  return (await db.delete(sessions).where(lte(sessions.expiresAt, now)).returning({ id: sessions.id })).length;
}
