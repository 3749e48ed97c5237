import type { Database } from "bun:sqlite";
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { migrations, type Migration } from "./migrations.ts";

export class NewerDatabaseError extends Error {}

export interface MigrateResult {
  applied: string[];
}

/** The `created_at` of each migration the database records (drizzle's bookkeeping table must exist). */
export function appliedMigrations(sqlite: Database): Set<number> {
  const rows = sqlite.query<{ created_at: number }, []>("SELECT created_at FROM __drizzle_migrations").all();
  return new Set(rows.map((r) => Number(r.created_at)));
}

/** Whether the database records a migration this build does not know: a newer Gatehouse wrote it. */
export function hasUnknownMigrations(applied: Set<number>, list: Migration[] = migrations): boolean {
  const known = new Set(list.map((m) => m.createdAt));
  return [...applied].some((createdAt) => !known.has(createdAt));
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
    const done = appliedMigrations(sqlite);
    if (hasUnknownMigrations(done, list)) {
      throw new NewerDatabaseError(
        "the database was written by a newer version of Gatehouse; refusing to open it (upgrade Gatehouse, or restore a backup)",
      );
    }
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
