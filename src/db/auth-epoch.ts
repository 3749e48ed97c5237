import type { Maybe } from "./execute-now.ts";
import { preparedPerDb } from "./prepared.ts";
import { postgresOf, type Store, sqliteOf } from "./store.ts";

// Read once per event-loop turn by the /mcp credential cache
// (src/mcp/credential-cache.ts), so it is plain SQL on bun:sqlite: a Drizzle
// statement prepared the same way and run through executeNow cost 2.9–3.0 µs
// a read against 0.92–0.93 µs here (1M reads, issue 15), Drizzle's row mapping
// being most of it. On PostgreSQL it is Bun's SQL, one round trip, a promise.
const epochQuery = preparedPerDb((db) =>
  sqliteOf(db).query<{ n: number }, []>("SELECT n FROM auth_epoch WHERE id = 1"),
);

/** The counter migration 0003's triggers raise on every change that can alter a bearer check's verdict. */
export function readAuthEpoch(db: Store): Maybe<number> {
  if (db.dialectSql.name === "postgres") return readPostgres(db);
  return epochOf(epochQuery(db).get());
}

async function readPostgres(db: Store): Promise<number> {
  const rows: { n: string | number }[] = await postgresOf(db)`SELECT n FROM auth_epoch WHERE id = 1`;
  return epochOf(rows[0] ?? null);
}

function epochOf(row: { n: string | number } | null): number {
  if (row === null) throw new Error("auth_epoch has no row: the database was not migrated");
  return Number(row.n);
}
