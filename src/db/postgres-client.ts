import type { SQL } from "bun";
import type { Store } from "./store.ts";

/**
 * Bun's SQL pool behind a PostgreSQL store (its `$client`), for what lives
 * outside the Drizzle schema (the rate counters' UNLOGGED table); null on
 * SQLite.
 */
export function postgresClientOf(db: Store): SQL | null {
  return db.dialectSql.name === "postgres" ? (db.$client as unknown as SQL) : null;
}
