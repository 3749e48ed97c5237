import { and, asc, eq, isNull, type SQL } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { oauthClients, oauthGrants, users } from "../db/schema.ts";
import { first, q, runToEnd, type Steps } from "../db/transaction.ts";

/** A service account with its client and its one live authorization. */
export interface ServiceAccountRow {
  user: typeof users.$inferSelect;
  client: { id: string; lastUsedAt: number | null; secretHash: string | null };
  authorization: typeof oauthGrants.$inferSelect;
}

const columns = {
  user: users,
  client: { id: oauthClients.id, lastUsedAt: oauthClients.lastUsedAt, secretHash: oauthClients.secretHash },
  authorization: oauthGrants,
};

/** Every service account, oldest first. */
export function listServiceAccounts(db: Store): ServiceAccountRow[] {
  return serviceAccountsWhere(db);
}

/** A page's read outside a transaction body. */
export function findServiceAccount(db: Store, userId: string): ServiceAccountRow | null {
  return runToEnd(serviceAccountById(db, userId));
}

/** The service account with this user id, or null, as a transaction body's step. */
export function* serviceAccountById(tx: Store, userId: string): Steps<ServiceAccountRow | null> {
  return first(yield* q(serviceAccountsQuery(tx, eq(users.id, userId)).limit(1)));
}

/** The service account whose client_credentials client this is, or null. */
export function findServiceAccountByClient(db: Store, clientId: string): ServiceAccountRow | null {
  return serviceAccountsWhere(db, eq(oauthClients.id, clientId))[0] ?? null;
}

function serviceAccountsWhere(db: Store, condition?: SQL): ServiceAccountRow[] {
  return serviceAccountsQuery(db, condition).all();
}

function serviceAccountsQuery(db: Store, condition?: SQL) {
  return db
    .select(columns)
    .from(users)
    .innerJoin(oauthGrants, and(eq(oauthGrants.userId, users.id), isNull(oauthGrants.revokedAt)))
    .innerJoin(oauthClients, and(eq(oauthClients.id, oauthGrants.clientId), eq(oauthClients.kind, "service")))
    .where(and(eq(users.kind, "service"), condition))
    .orderBy(asc(users.createdAt), asc(users.name));
}

/** Deletes the account (its authorization and tokens go by cascade) and its client. */
export function* deleteServiceAccountRows(tx: Store, userId: string, clientId: string): Steps<boolean> {
  yield* q(tx.delete(oauthClients).where(eq(oauthClients.id, clientId)));
  const deleted = yield* q(
    tx
      .delete(users)
      .where(and(eq(users.id, userId), eq(users.kind, "service")))
      .returning({ id: users.id }),
  );
  return deleted.length === 1;
}
