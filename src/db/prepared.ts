import { type SQL, sql } from "drizzle-orm";
import type { Store } from "./store.ts";

/**
 * A query prepared once per database, for the lookups on the /mcp hot path:
 * building a drizzle join costs about 0.4 ms a call, running the prepared
 * statement about 0.05 ms. A cache and nothing more: the statement reads the
 * database afresh on every run.
 */
export function preparedPerDb<Q>(build: (db: Store) => Q): (db: Store) => Q {
  const cache = new WeakMap<Store, Q>();
  const ofStore = (db: Store): Q => {
    let query = cache.get(db);
    if (query === undefined) {
      query = build(db);
      cache.set(db, query);
    }
    return query;
  };
  return (db) => {
    const open = transactions.get(db);
    if (open === undefined) return ofStore(db);
    // The store's statement, run on the transaction's own connection.
    return Object.assign(Object.create(ofStore(open.store) as object), { client: open.connection }) as Q;
  };
}

/**
 * PostgreSQL's transaction handles (src/db/transaction.ts): a new one for
 * every transaction, and for every attempt of it, so a statement cached by
 * handle would be built again each time (0.1–0.4 ms of Drizzle's work a
 * statement, most of a token request's cost). A handle's statements are its
 * store's, each on a copy bound to the transaction's connection: Drizzle's
 * bun-sql prepared query runs on its `client` (drizzle-orm/bun-sql/session.js,
 * the handle's `session.client`). On SQLite a transaction runs on the store's
 * own connection and handle, and nothing is registered.
 */
const transactions = new WeakMap<Store, { store: Store; connection: unknown }>();

/** Registers a PostgreSQL transaction's handle: preparedPerDb's statements then run on its connection. */
export function preparedInTransaction(tx: Store, store: Store, connection: unknown): void {
  transactions.set(tx, { store, connection });
}

/**
 * A named parameter of a prepared UPDATE's SET: Drizzle's set() types take no
 * bare sql.placeholder, but the same placeholder wrapped in sql binds alike.
 */
export function setParam(name: string): SQL {
  return sql`${sql.placeholder(name)}`;
}
