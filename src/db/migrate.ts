import type { Database } from "bun:sqlite";
import type { SQL } from "bun";
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { migrations, type Migration } from "./migrations.ts";
import { postgresMigrations } from "./migrations-pg.ts";

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
    const applied: string[] = [];
    for (const m of pending(list, done)) {
      for (const statement of m.statements) sqlite.run(statement);
      sqlite.run("INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)", [hashOf(m), m.createdAt]);
      applied.push(m.tag);
    }
    return applied;
  });
  return { applied: run.immediate() };
}

/**
 * PostgreSQL's migrate: the same bookkeeping in drizzle's own place for it
 * (drizzle.__drizzle_migrations), in one transaction that first takes an
 * advisory lock, so instances starting together apply each migration once:
 * the others wait for the lock, then find nothing left to do. The lock ends
 * with the transaction, also when the process dies.
 */
export async function migratePostgres(client: SQL, list: Migration[] = postgresMigrations): Promise<MigrateResult> {
  const applied = await client.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext('gatehouse migrate'))`;
    await tx`CREATE SCHEMA IF NOT EXISTS drizzle`;
    await tx`CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint)`;
    const rows: { created_at: string }[] = await tx`SELECT created_at FROM drizzle.__drizzle_migrations`;
    const done: string[] = [];
    for (const m of pending(list, new Set(rows.map((r) => Number(r.created_at))))) {
      for (const statement of m.statements) await tx.unsafe(statement);
      await tx`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (${hashOf(m)}, ${m.createdAt})`;
      done.push(m.tag);
    }
    return done;
  });
  return { applied };
}

/** What `list` has that the database has not applied; throws when the database has a migration `list` does not know. */
function pending(list: Migration[], applied: Set<number>): Migration[] {
  if (hasUnknownMigrations(applied, list)) {
    throw new NewerDatabaseError(
      "the database was written by a newer version of Gatehouse; refusing to open it (upgrade Gatehouse, or restore a backup)",
    );
  }
  return list.filter((m) => !applied.has(m.createdAt));
}

function hashOf(m: Migration): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(m.sql)));
}
