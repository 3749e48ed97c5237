import type { SQL } from "drizzle-orm";
import type { BunSQLDatabase } from "drizzle-orm/bun-sql";
import type { Store } from "../../src/db/store.ts";

// The one place tests run SQL of their own: to read a row as stored (proving
// a secret is kept only as a digest) or to force a state no route makes (a
// time moved back, a row deleted under a page). Everything else a test reads
// or writes goes through the store's query builders and `db.tables`, as the
// stores do (issue 15), so the same tests can run on PostgreSQL (issue 16),
// where these two become that dialect's own calls.

/** Runs a statement for its effect: `await execSql(app.db, sql\`UPDATE users SET disabled_at = ${at}\`)`. */
export async function execSql(db: Store, statement: SQL): Promise<void> {
  if (db.dialectSql.name === "postgres") await pg(db).execute(statement);
  else await db.run(statement);
}

/** The rows a query returns, as the database stores them (column names, not Drizzle's). */
export async function selectSql<T>(db: Store, query: SQL): Promise<T[]> {
  if (db.dialectSql.name === "postgres") return [...(await pg(db).execute(query))].map(asSqliteRow) as T[];
  return db.all<T>(query);
}

/**
 * A PostgreSQL row as SQLite stores the same row, so one expectation serves
 * both: a boolean as 0 or 1, and a bigint (Bun's driver reads int8 as a
 * string) as a number: the `*_at` unix seconds and counts.
 */
function asSqliteRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (typeof value === "boolean") out[key] = value ? 1 : 0;
    else if (typeof value === "string" && /^-?\d{1,15}$/.test(value) && (key.endsWith("_at") || key === "n"))
      out[key] = Number(value);
    else out[key] = value;
  }
  return out;
}

/** A PostgreSQL store's Drizzle handle as what it is (src/db/store.ts types every store as SQLite's). */
const pg = (db: Store) => db as unknown as BunSQLDatabase;
