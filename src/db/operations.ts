import { sql } from "drizzle-orm";
import type { Maybe } from "./execute-now.ts";
import { migrate, migratePostgres, type MigrateResult } from "./migrate.ts";
import { postgresOf, type Store, sqliteOf } from "./store.ts";

// What the server and the CLI do to the database as a whole, beside the
// queries (issue 15): migrating, closing, a backup, the health check's ping,
// and the write-ahead log's checkpoints. Each dialect's own, so nothing
// outside src/db reaches for the connection (docs/architecture.md "The store
// and its transactions").

/** Applies pending migrations (src/db/migrate.ts); on PostgreSQL under an advisory lock. */
export async function migrateStore(db: Store): Promise<MigrateResult> {
  return db.dialectSql.name === "postgres" ? migratePostgres(postgresOf(db)) : migrate(sqliteOf(db));
}

/** What a PostgreSQL store's Drizzle handle offers here: a transaction, and raw SQL inside it. */
interface PostgresJobHandle {
  transaction<T>(run: (tx: { execute(query: ReturnType<typeof sql>): Promise<unknown> }) => Promise<T>): Promise<T>;
}

/**
 * Runs `job` on one instance at a time (issue 16: the periodic purge) and
 * resolves true, or resolves false at once, without running it, while another
 * instance runs the job of the same name. On PostgreSQL the job runs inside a
 * transaction that first tries a transaction-level advisory lock on the name
 * (pg_try_advisory_xact_lock): the lock ends with the transaction, also when
 * the process dies, and the job's statements, run on the store `job` is
 * given, use that transaction's connection, so the job never waits for a
 * second connection of a pool of one. On SQLite (one instance per file) it
 * just runs.
 */
export async function withExclusiveJob(db: Store, name: string, job: (db: Store) => Promise<void>): Promise<boolean> {
  if (db.dialectSql.name !== "postgres") {
    await job(db);
    return true;
  }
  return (db as unknown as PostgresJobHandle).transaction(async (handle) => {
    const [row] = (await handle.execute(
      sql`SELECT pg_try_advisory_xact_lock(hashtext(${`gatehouse job ${name}`})) AS locked`,
    )) as { locked: boolean }[];
    if (!row?.locked) return false;
    await job(Object.assign(handle, { tables: db.tables, dialectSql: db.dialectSql }) as unknown as Store);
    return true;
  });
}

export async function closeStore(db: Store): Promise<void> {
  if (db.dialectSql.name === "postgres") await postgresOf(db).close({ timeout: 5 });
  else sqliteOf(db).close();
}

/** Resolves (at once on SQLite) when the database answers, throws or rejects when it does not (/readyz). */
export function ping(db: Store): Maybe<void> {
  if (db.dialectSql.name === "postgres") return postgresOf(db)`SELECT 1`.then(() => {});
  sqliteOf(db).query("SELECT 1").get();
}

/**
 * Writes a consistent copy of the SQLite database into `file`, which must
 * exist and be empty. VACUUM INTO reads one snapshot, so writers carry on
 * meanwhile (WAL). PostgreSQL has pg_dump for this.
 */
export function backupTo(db: Store, file: string): void {
  sqliteOf(db).run("VACUUM INTO ?", [file]);
}

/** The database's file, or null for an in-memory or PostgreSQL database (nothing another connection could open). */
export function storeFile(db: Store): string | null {
  if (db.dialectSql.name !== "sqlite") return null;
  const file = sqliteOf(db).filename;
  return file && file !== ":memory:" ? file : null;
}

/**
 * Turns this connection's automatic write-ahead log checkpoints off, for
 * while another connection (the audit writer thread) checkpoints instead;
 * returns what turns them back on as they were.
 */
export function pauseAutoCheckpoints(db: Store): () => void {
  const sqlite = sqliteOf(db);
  const pages = sqlite.query<{ wal_autocheckpoint: number }, []>("PRAGMA wal_autocheckpoint").get()!.wal_autocheckpoint;
  sqlite.run("PRAGMA wal_autocheckpoint = 0");
  return () => {
    try {
      sqlite.run(`PRAGMA wal_autocheckpoint = ${pages}`);
    } catch {
      // The connection is closed already: nothing left to checkpoint from it.
    }
  };
}
