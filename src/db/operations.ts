import { migrate, type MigrateResult } from "./migrate.ts";
import type { Store } from "./store.ts";

// What the server and the CLI do to the database as a whole, beside the
// queries (issue 15): opening and migrating, closing, a backup, the health
// check's ping, and the write-ahead log's checkpoints. Today each is
// SQLite's own; they live here so nothing outside src/db reaches for the
// bun:sqlite connection (docs/architecture.md "The store and its transactions").

/** Applies pending migrations (src/db/migrate.ts). */
export function migrateStore(db: Store): MigrateResult {
  return migrate(db.$client);
}

export function closeStore(db: Store): void {
  db.$client.close();
}

/** Throws when the database does not answer (/readyz). */
export function ping(db: Store): void {
  db.$client.query("SELECT 1").get();
}

/**
 * Writes a consistent copy of the database into `file`, which must exist
 * and be empty. VACUUM INTO reads one snapshot, so writers carry on
 * meanwhile (WAL).
 */
export function backupTo(db: Store, file: string): void {
  db.$client.run("VACUUM INTO ?", [file]);
}

/** The database's file, or null for an in-memory database (nothing another connection could open). */
export function storeFile(db: Store): string | null {
  const file = db.$client.filename;
  return file && file !== ":memory:" ? file : null;
}

/**
 * Turns this connection's automatic write-ahead log checkpoints off, for
 * while another connection (the audit writer thread) checkpoints instead;
 * returns what turns them back on as they were.
 */
export function pauseAutoCheckpoints(db: Store): () => void {
  const sqlite = db.$client;
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
