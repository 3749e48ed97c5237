import { eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { preparedPerDb } from "../db/prepared.ts";
import { authEpoch } from "../db/schema.ts";

const epochQuery = preparedPerDb((db) =>
  db.select({ n: authEpoch.n }).from(authEpoch).where(eq(authEpoch.id, 1)).prepare(),
);

/** The counter migration 0003's triggers raise on every change that can alter a bearer check's verdict. */
export function readAuthEpoch(db: Db): number {
  const row = epochQuery(db).get();
  if (row === undefined) throw new Error("auth_epoch has no row: the database was not migrated");
  return row.n;
}
