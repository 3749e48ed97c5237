import type { Database } from "bun:sqlite";
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { migrations, type Migration } from "./migrations.ts";

export class NewerDatabaseError extends Error {}

export interface MigrateResult {
  applied: string[];
}

/**
 * Applies pending migrations in one transaction. Uses drizzle's own
 * bookkeeping table so drizzle-kit keeps understanding the database.
 * A database that has migrations this build does not know was written by a
 * newer Gatehouse: it is refused untouched.
 */
export function migrate(sqlite: Database, list: Migration[] = migrations): MigrateResult {
  sqlite.run(
    "CREATE TABLE IF NOT EXISTS __drizzle_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)",
  );
  const run = sqlite.transaction(() => {
    const rows = sqlite.query<{ created_at: number }, []>("SELECT created_at FROM __drizzle_migrations").all();
    const known = new Set(list.map((m) => m.createdAt));
    const unknown = rows.filter((r) => !known.has(Number(r.created_at)));
    if (unknown.length > 0) {
      throw new NewerDatabaseError(
        "the database was written by a newer version of Gatehouse; refusing to open it (upgrade Gatehouse, or restore a backup)",
      );
    }
    const done = new Set(rows.map((r) => Number(r.created_at)));
    const applied: string[] = [];
    for (const m of list) {
      if (done.has(m.createdAt)) continue;
      for (const statement of m.statements) sqlite.run(statement);
      sqlite.run("INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)", [
        encodeHexLowerCase(sha256(new TextEncoder().encode(m.sql))),
        m.createdAt,
      ]);
      applied.push(m.tag);
    }
    return applied;
  });
  return { applied: run.immediate() };
}
