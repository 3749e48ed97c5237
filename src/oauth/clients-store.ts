import { and, desc, eq, isNull, lt, ne, sql } from "drizzle-orm";
import { andThen, executeNow, type Maybe } from "../db/execute-now.ts";
import type { Store } from "../db/store.ts";
import { preparedPerDb, setParam } from "../db/prepared.ts";
import { q, runToEnd, type Steps } from "../db/transaction.ts";
import { oauthClients, users } from "../db/schema.ts";

type Row = typeof oauthClients.$inferSelect;
export type ClientKind = Row["kind"];
export type TokenEndpointAuthMethod = Row["tokenEndpointAuthMethod"];

export interface OAuthClient extends Omit<Row, "redirectUris"> {
  redirectUris: string[];
}

const fromRow = (row: Row): OAuthClient => ({ ...row, redirectUris: JSON.parse(row.redirectUris) as string[] });
const toRow = (client: OAuthClient): Row => ({ ...client, redirectUris: JSON.stringify(client.redirectUris) });

export function insertClient(db: Store, client: OAuthClient): void {
  runToEnd(addClient(db, client));
}

export function* addClient(tx: Store, client: OAuthClient): Steps<void> {
  yield* q(tx.insert(oauthClients).values(toRow(client)));
}

/** Insert or replace (a refreshed metadata document). */
export function upsertClient(db: Store, client: OAuthClient): void {
  const row = toRow(client);
  db.insert(oauthClients).values(row).onConflictDoUpdate({ target: oauthClients.id, set: row }).run();
}

const clientByIdQuery = preparedPerDb((db) =>
  db
    .select()
    .from(oauthClients)
    .where(eq(oauthClients.id, sql.placeholder("id")))
    .prepare(),
);

/** Runs on every token request (client authentication): prepared once (src/db/prepared.ts). */
export function findClientById(db: Store, id: string): OAuthClient | null {
  const row = clientByIdQuery(db).get({ id });
  return row ? fromRow(row) : null;
}

export function findClientByFingerprint(db: Store, fingerprint: string): OAuthClient | null {
  const row = db.select().from(oauthClients).where(eq(oauthClients.fingerprint, fingerprint)).get();
  return row ? fromRow(row) : null;
}

export function listClients(db: Store, kind?: ClientKind): OAuthClient[] {
  const q = db.select().from(oauthClients);
  return (kind ? q.where(eq(oauthClients.kind, kind)) : q).orderBy(desc(oauthClients.createdAt)).all().map(fromRow);
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
export function listClientsWithOwners(db: Store, ownerUserId: string | null): ClientWithOwner[] {
  const notService = ne(oauthClients.kind, "service");
  return db
    .select({ client: oauthClients, ownerEmail: users.email })
    .from(oauthClients)
    .leftJoin(users, eq(users.id, oauthClients.ownerUserId))
    .where(ownerUserId === null ? notService : and(notService, eq(oauthClients.ownerUserId, ownerUserId)))
    .orderBy(desc(oauthClients.createdAt))
    .all()
    .map((r) => ({ client: fromRow(r.client), ownerEmail: r.ownerEmail }));
}

export function findClientWithOwner(db: Store, id: string): ClientWithOwner | null {
  const row = db
    .select({ client: oauthClients, ownerEmail: users.email })
    .from(oauthClients)
    .leftJoin(users, eq(users.id, oauthClients.ownerUserId))
    .where(eq(oauthClients.id, id))
    .get();
  return row ? { client: fromRow(row.client), ownerEmail: row.ownerEmail } : null;
}

type ClientChanges = Partial<Pick<OAuthClient, "name" | "redirectUris" | "secretHash" | "fingerprint">>;

export function updateClient(db: Store, id: string, changes: ClientChanges): void {
  runToEnd(changeClient(db, id, changes));
}

export function* changeClient(tx: Store, id: string, changes: ClientChanges): Steps<void> {
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

/** touchClient as a step of a grant's transaction, so it commits with the tokens. */
export function* markClientUsed(tx: Store, id: string, at: number): Steps<void> {
  yield* q(touchClientQuery(tx), { id, at });
}

/** At once on SQLite (the token endpoint's path, src/db/execute-now.ts). */
export function touchClient(db: Store, id: string, at: number): Maybe<void> {
  return andThen(executeNow(touchClientQuery(db), { id, at }), () => undefined);
}

/** Deleting a client cascades to its pending requests, authorizations, codes and tokens. */
export function deleteClient(db: Store, id: string): boolean {
  return db.delete(oauthClients).where(eq(oauthClients.id, id)).returning({ id: oauthClients.id }).all().length === 1;
}

/** Dynamically registered clients that were never used and are older than `before`. */
export function deleteUnusedRegistrations(db: Store, before: number): number {
  return db
    .delete(oauthClients)
    .where(and(eq(oauthClients.kind, "dcr"), isNull(oauthClients.lastUsedAt), lt(oauthClients.createdAt, before)))
    .returning({ id: oauthClients.id })
    .all().length;
}
