import type { Database } from "bun:sqlite";
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
 * `$client` (the bun:sqlite connection) is for src/db and the operations that
 * are SQLite's own (backup, WAL checkpoints, health).
 */
export type Store = BunSQLiteDatabase<Tables> & {
  readonly $client: Database;
  readonly tables: Tables;
  readonly dialectSql: DialectSql;
};
