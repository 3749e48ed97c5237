import type { Database } from "bun:sqlite";
import type { SQL } from "bun";
import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import type { DialectSql } from "./dialect.ts";
import type * as schema from "./schema.ts";

export type Tables = typeof schema;

/**
 * The store contract every *-store.ts is written against (issue 15;
 * docs/architecture.md "The store and its transactions"):
 * - the Drizzle handle itself, for queries in what both dialects share:
 *   `await builder`, `.limit(1)` with `first(rows)`, `.prepare()` with
 *   `await execute()` (or `executeNow` on the /mcp fast path), `returning()`
 *   and the `onConflict…` clauses;
 * - `tables`, the dialect's table objects: stores take their tables from
 *   here and import only types from schema.ts;
 * - `dialectSql`, the little SQL that differs (src/db/dialect.ts; not
 *   `dialect`, which is Drizzle's own);
 * - `transaction(store, body)` (src/db/transaction.ts) for writes that must
 *   be all or nothing.
 *
 * On PostgreSQL (issue 16) the handle is drizzle-orm/bun-sql's over
 * schema-pg.ts's tables, which have the same names, columns and JS types
 * (test/db/schema-parity.test.ts); it is typed as SQLite's because the
 * stores use only what the two share, and the whole suite runs on both
 * (GATEHOUSE_TEST_DATABASE_URL) to hold them to that.
 *
 * `$client` (the bun:sqlite connection, or Bun's SQL pool) is for src/db
 * alone, through `sqliteOf` and `postgresOf`.
 */
export type Store = Omit<BunSQLiteDatabase<Tables>, "$client"> & {
  readonly $client: Database | SQL;
  readonly tables: Tables;
  readonly dialectSql: DialectSql;
};

/** The bun:sqlite connection of a SQLite store; throws on any other. */
export function sqliteOf(db: Store): Database {
  if (db.dialectSql.name !== "sqlite") throw new TypeError("this operation is SQLite's own");
  return db.$client as Database;
}

/** The PostgreSQL pool (Bun's SQL) of a PostgreSQL store; throws on any other. */
export function postgresOf(db: Store): SQL {
  if (db.dialectSql.name !== "postgres") throw new TypeError("this operation is PostgreSQL's own");
  return db.$client as SQL;
}

/** The PostgreSQL pool behind a store, for what lives outside the Drizzle schema (the rate counters' UNLOGGED table); null on SQLite. */
export function postgresClientOf(db: Store): SQL | null {
  return db.dialectSql.name === "postgres" ? (db.$client as SQL) : null;
}
