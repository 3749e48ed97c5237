import { and, asc, eq, isNull, type SQL, sql } from "drizzle-orm";
import { preparedPerDb } from "../db/prepared.ts";
import type { Store } from "../db/store.ts";
import type { oauthGrants, users } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";

/** A service account with its client and its one live authorization. */
export interface ServiceAccountRow {
  user: typeof users.$inferSelect;
  client: { id: string; lastUsedAt: number | null; secretHash: string | null };
  authorization: typeof oauthGrants.$inferSelect;
}

/** Every service account, oldest first. */
export function listServiceAccounts(db: Store): Promise<ServiceAccountRow[]> {
  return Promise.resolve(serviceAccountsQuery(db));
}

/** A page's read outside a transaction body. */
export async function findServiceAccount(db: Store, userId: string): Promise<ServiceAccountRow | null> {
  return first(await serviceAccountsQuery(db, eq(db.tables.users.id, userId)).limit(1));
}

/** The service account with this user id, or null, as a transaction body's step. */
export function* serviceAccountById(tx: Store, userId: string): Steps<ServiceAccountRow | null> {
  return first(yield* q(serviceAccountsQuery(tx, eq(tx.tables.users.id, userId)).limit(1)));
}

// Every client_credentials grant reads it: prepared once (src/db/prepared.ts), since building the
// join costs more than running it; one client has one account, so no `.limit(1)` (see codes-store.ts).
const byClientQuery = preparedPerDb((db) =>
  serviceAccountsQuery(db, eq(db.tables.oauthClients.id, sql.placeholder("clientId"))).prepare(),
);

/** The service account whose client_credentials client this is, or null, as a transaction body's step. */
export function* serviceAccountByClient(tx: Store, clientId: string): Steps<ServiceAccountRow | null> {
  return first(yield* q(byClientQuery(tx), { clientId }));
}

function serviceAccountsQuery(db: Store, condition?: SQL) {
  const { users, oauthClients, oauthGrants } = db.tables;
  const columns = {
    user: users,
    client: { id: oauthClients.id, lastUsedAt: oauthClients.lastUsedAt, secretHash: oauthClients.secretHash },
    authorization: oauthGrants,
  };
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
  const { users, oauthClients } = tx.tables;
  yield* q(tx.delete(oauthClients).where(eq(oauthClients.id, clientId)));
  const deleted = yield* q(
    tx
      .delete(users)
      .where(and(eq(users.id, userId), eq(users.kind, "service")))
      .returning({ id: users.id }),
  );
  return deleted.length === 1;
}
