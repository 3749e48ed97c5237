import type { SQL } from "drizzle-orm";
import type { Store } from "../../src/db/store.ts";

// The one place tests run SQL of their own: to read a row as stored (proving
// a secret is kept only as a digest) or to force a state no route makes (a
// time moved back, a row deleted under a page). Everything else a test reads
// or writes goes through the store's query builders and `db.tables`, as the
// stores do (issue 15), so the same tests can run on PostgreSQL (issue 16),
// where these two become that dialect's own calls.

/** Runs a statement for its effect: `await execSql(app.db, sql\`UPDATE users SET disabled_at = ${at}\`)`. */
export async function execSql(db: Store, statement: SQL): Promise<void> {
  await db.run(statement);
}

/** The rows a query returns, as the database stores them (column names, not Drizzle's). */
export async function selectSql<T>(db: Store, query: SQL): Promise<T[]> {
  return db.all<T>(query);
}
