import { and, desc, eq, gt, isNull, or, sql } from "drizzle-orm";
import { andThen, executeNow, type Maybe } from "../db/execute-now.ts";
import type { Store } from "../db/store.ts";
import { preparedPerDb, setParam } from "../db/prepared.ts";
import type { apiKeys, users } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";

export type ApiKey = typeof apiKeys.$inferSelect;
type User = typeof users.$inferSelect;

export function* insertApiKey(tx: Store, key: ApiKey): Steps<void> {
  yield* q(tx.insert(tx.tables.apiKeys).values(key));
}

/** The key with this id, or null, as a transaction body's step (the bearer check has its own, findApiKeyWithUser). */
export function* apiKeyById(tx: Store, id: string): Steps<ApiKey | null> {
  const { apiKeys } = tx.tables;
  return first(yield* q(tx.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1)));
}

// By primary key: no `.limit(1)`, which costs Drizzle about 25 µs a run (see codes-store.ts).
const apiKeyWithUserQuery = preparedPerDb((db) => {
  const { apiKeys, users } = db.tables;
  return db
    .select({ apiKey: apiKeys, user: users })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(eq(apiKeys.id, sql.placeholder("id")))
    .prepare();
});

export interface ApiKeyWithUser {
  apiKey: ApiKey;
  user: User;
}

/** Runs on every /mcp request with an API key: prepared once (src/db/prepared.ts), at once on SQLite. */
export function findApiKeyWithUser(db: Store, id: string): Maybe<ApiKeyWithUser | null> {
  return andThen(executeNow(apiKeyWithUserQuery(db), { id }), first);
}

/** Keys not revoked, newest first; of one user, or of everyone when userId is null. */
export function listLiveApiKeys(db: Store, userId: string | null): Promise<{ apiKey: ApiKey; email: string }[]> {
  const { apiKeys, users } = db.tables;
  const live = isNull(apiKeys.revokedAt);
  return Promise.resolve(
    db
      .select({ apiKey: apiKeys, email: users.email })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(userId === null ? live : and(live, eq(apiKeys.userId, userId)))
      .orderBy(desc(apiKeys.createdAt), apiKeys.name),
  );
}

/** One of the user's live keys (not revoked, not expired at `now`) named `name`, ignoring ASCII case; or null. */
export function* findLiveApiKeyByName(tx: Store, userId: string, name: string, now: number): Steps<ApiKey | null> {
  const { apiKeys } = tx.tables;
  const rows = yield* q(
    tx
      .select()
      .from(apiKeys)
      .where(
        and(
          eq(apiKeys.userId, userId),
          isNull(apiKeys.revokedAt),
          or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
          sql`lower(${apiKeys.name}) = lower(${name})`,
        ),
      )
      .limit(1),
  );
  return first(rows);
}

export function* markApiKeyRevoked(tx: Store, id: string, at: number): Steps<boolean> {
  const { apiKeys } = tx.tables;
  const revoked = yield* q(
    tx
      .update(apiKeys)
      .set({ revokedAt: at })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id }),
  );
  return revoked.length === 1;
}

/** Live keys made in a session opened with key `id`. */
export function* liveKeyIdsCreatedWith(tx: Store, id: string): Steps<string[]> {
  const { apiKeys } = tx.tables;
  const rows = yield* q(
    tx
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.createdWithKeyId, id), isNull(apiKeys.revokedAt))),
  );
  return rows.map((row) => row.id);
}

// On the bearer check's path: prepared once (src/db/prepared.ts).
const lastUsedQuery = preparedPerDb((db) => {
  const { apiKeys } = db.tables;
  return db
    .update(apiKeys)
    .set({ lastUsedAt: setParam("at") })
    .where(eq(apiKeys.id, sql.placeholder("id")))
    .prepare();
});

/** At once on SQLite (src/db/execute-now.ts). */
export function updateApiKeyLastUsed(db: Store, id: string, at: number): Maybe<void> {
  return andThen(executeNow(lastUsedQuery(db), { id, at }), () => undefined);
}
