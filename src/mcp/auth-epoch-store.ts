import type { Store } from "../db/store.ts";
import { preparedPerDb } from "../db/prepared.ts";

// Plain SQL on bun:sqlite: it runs on every /mcp request, and drizzle's row
// mapping cost about as much as the read itself.
const epochQuery = preparedPerDb((db) => db.$client.query<{ n: number }, []>("SELECT n FROM auth_epoch WHERE id = 1"));

/** The counter migration 0003's triggers raise on every change that can alter a bearer check's verdict. */
export function readAuthEpoch(db: Store): number {
  const row = epochQuery(db).get();
  if (row === null) throw new Error("auth_epoch has no row: the database was not migrated");
  return row.n;
}
