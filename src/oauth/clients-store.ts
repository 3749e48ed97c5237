import { and, desc, eq, isNull, lt, lte, ne, or, sql } from "drizzle-orm";
import { andThen, executeNow, type Maybe } from "../db/execute-now.ts";
import type { Store } from "../db/store.ts";
import { preparedPerDb, setParam } from "../db/prepared.ts";
import { first, q, type Steps } from "../db/transaction.ts";
import type { oauthClients } from "../db/schema.ts";

type Row = typeof oauthClients.$inferSelect;
export type ClientKind = Row["kind"];
export type TokenEndpointAuthMethod = Row["tokenEndpointAuthMethod"];

export interface OAuthClient extends Omit<Row, "redirectUris"> {
  redirectUris: string[];
}

const fromRow = (row: Row): OAuthClient => ({ ...row, redirectUris: JSON.parse(row.redirectUris) as string[] });
const toRow = (client: OAuthClient): Row => ({ ...client, redirectUris: JSON.stringify(client.redirectUris) });

export function* addClient(tx: Store, client: OAuthClient): Steps<void> {
  const { oauthClients } = tx.tables;
  yield* q(tx.insert(oauthClients).values(toRow(client)));
}

/** Insert or replace (a refreshed metadata document). */
export async function upsertClient(db: Store, client: OAuthClient): Promise<void> {
  const { oauthClients } = db.tables;
  const row = toRow(client);
  await db.insert(oauthClients).values(row).onConflictDoUpdate({ target: oauthClients.id, set: row });
}

const clientByIdQuery = preparedPerDb((db) => {
  const { oauthClients } = db.tables;
  return db
    .select()
    .from(oauthClients)
    .where(eq(oauthClients.id, sql.placeholder("id")))
    .prepare();
});

/** Runs on every token request (client authentication): prepared once (src/db/prepared.ts). */
export async function findClientById(db: Store, id: string): Promise<OAuthClient | null> {
  const row = first(await clientByIdQuery(db).execute({ id }));
  return row ? fromRow(row) : null;
}

/** The client with this id, as a transaction body's step. */
export function* clientById(tx: Store, id: string): Steps<OAuthClient | null> {
  const row = first(yield* q(clientByIdQuery(tx), { id }));
  return row ? fromRow(row) : null;
}

/** The client registered with this fingerprint (registration.ts), as a transaction body's step. */
export function* clientByFingerprint(tx: Store, fingerprint: string): Steps<OAuthClient | null> {
  const { oauthClients } = tx.tables;
  const rows = yield* q(tx.select().from(oauthClients).where(eq(oauthClients.fingerprint, fingerprint)).limit(1));
  const row = first(rows);
  return row ? fromRow(row) : null;
}

export async function listClients(db: Store, kind?: ClientKind): Promise<OAuthClient[]> {
  const { oauthClients } = db.tables;
  const all = db.select().from(oauthClients);
  const rows = await (kind ? all.where(eq(oauthClients.kind, kind)) : all).orderBy(desc(oauthClients.createdAt));
  return rows.map(fromRow);
}

/** A client and the email of the person who registered it on their clients page (null: nobody owns it). */
export interface ClientWithOwner {
  client: OAuthClient;
  ownerEmail: string | null;
}

/**
 * Clients people manage on the clients pages (every kind but service
 * accounts'), newest first, with their owners; only one person's own when
 * `ownerUserId` is given.
 */
export async function listClientsWithOwners(db: Store, ownerUserId: string | null): Promise<ClientWithOwner[]> {
  const { oauthClients, users } = db.tables;
  const notService = ne(oauthClients.kind, "service");
  const rows = await db
    .select({ client: oauthClients, ownerEmail: users.email })
    .from(oauthClients)
    .leftJoin(users, eq(users.id, oauthClients.ownerUserId))
    .where(ownerUserId === null ? notService : and(notService, eq(oauthClients.ownerUserId, ownerUserId)))
    .orderBy(desc(oauthClients.createdAt));
  return rows.map((r) => ({ client: fromRow(r.client), ownerEmail: r.ownerEmail }));
}

export async function findClientWithOwner(db: Store, id: string): Promise<ClientWithOwner | null> {
  const { oauthClients, users } = db.tables;
  const rows = await db
    .select({ client: oauthClients, ownerEmail: users.email })
    .from(oauthClients)
    .leftJoin(users, eq(users.id, oauthClients.ownerUserId))
    .where(eq(oauthClients.id, id))
    .limit(1);
  const row = first(rows);
  return row ? { client: fromRow(row.client), ownerEmail: row.ownerEmail } : null;
}

/** The client with this id and its owner's email, as a transaction body's step. */
export function* clientWithOwner(tx: Store, id: string): Steps<ClientWithOwner | null> {
  const { oauthClients, users } = tx.tables;
  const rows = yield* q(
    tx
      .select({ client: oauthClients, ownerEmail: users.email })
      .from(oauthClients)
      .leftJoin(users, eq(users.id, oauthClients.ownerUserId))
      .where(eq(oauthClients.id, id))
      .limit(1),
  );
  const row = first(rows);
  return row ? { client: fromRow(row.client), ownerEmail: row.ownerEmail } : null;
}

type ClientChanges = Partial<Pick<OAuthClient, "name" | "redirectUris" | "secretHash" | "fingerprint">>;

export function* changeClient(tx: Store, id: string, changes: ClientChanges): Steps<void> {
  const { oauthClients } = tx.tables;
  const set: Partial<Row> = {
    ...changes,
    redirectUris: changes.redirectUris ? JSON.stringify(changes.redirectUris) : undefined,
  };
  yield* q(tx.update(oauthClients).set(set).where(eq(oauthClients.id, id)));
}

const touchClientQuery = preparedPerDb((db) => {
  const { oauthClients } = db.tables;
  return db
    .update(oauthClients)
    .set({ lastUsedAt: setParam("at") })
    .where(eq(oauthClients.id, sql.placeholder("id")))
    .prepare();
});

// A grant's record of its client's last use, written only while the row's own value is unset or
// at most `staleAt`. The grant decides from the client it authenticated before its transaction
// began, and on PostgreSQL a body aborted for a conflict runs again with that same client. Without
// the condition every attempt of every grant in a burst of one client's requests writes the row
// again, one commits per round, and the last of the burst run out of attempts (issue 16). With it,
// a retry that sees another grant's record writes nothing.
const markClientUsedQuery = preparedPerDb((db) => {
  const { oauthClients } = db.tables;
  return db
    .update(oauthClients)
    .set({ lastUsedAt: setParam("at") })
    .where(
      and(
        eq(oauthClients.id, sql.placeholder("id")),
        or(isNull(oauthClients.lastUsedAt), lte(oauthClients.lastUsedAt, sql.placeholder("staleAt"))),
      ),
    )
    .prepare();
});

/**
 * Sets the client's last use to `at` if it is unset or at most `staleAt`; a step of a grant's
 * transaction, so it commits with the tokens.
 */
export function* markClientUsed(tx: Store, id: string, at: number, staleAt: number): Steps<void> {
  yield* q(markClientUsedQuery(tx), { id, at, staleAt });
}

/** Records the client's last use when a person approves it (consent, device verification); at once on SQLite. */
export function touchClient(db: Store, id: string, at: number): Maybe<void> {
  return andThen(executeNow(touchClientQuery(db), { id, at }), () => undefined);
}

/** Deleting a client cascades to its pending requests, authorizations, codes and tokens; a transaction body's step. */
export function* removeClient(tx: Store, id: string): Steps<boolean> {
  const { oauthClients } = tx.tables;
  const deleted = yield* q(tx.delete(oauthClients).where(eq(oauthClients.id, id)).returning({ id: oauthClients.id }));
  return deleted.length === 1;
}

/** Dynamically registered clients that were never used and are older than `before`; a transaction body's step. */
export function* deleteUnusedRegistrations(tx: Store, before: number): Steps<number> {
  const { oauthClients } = tx.tables;
  const deleted = yield* q(
    tx
      .delete(oauthClients)
      .where(and(eq(oauthClients.kind, "dcr"), isNull(oauthClients.lastUsedAt), lt(oauthClients.createdAt, before)))
      .returning({ id: oauthClients.id }),
  );
  return deleted.length;
}
