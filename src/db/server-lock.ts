import { Database } from "bun:sqlite";
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";

// `gatehouse serve` holds a shared lock for its whole life, and `gatehouse
// restore` needs the exclusive one, so a restore never replaces the database
// under a running server, and a server starting during a restore waits for it.
// The lock is SQLite's own (a POSIX advisory lock on a small database file of
// its own): the kernel drops it when the process ends, however it ends, so
// there is no stale lock after a crash and no process id to outlive its
// process or to mean something else in another PID namespace (a `docker run
// --rm … restore` beside the running container). Two servers on one data dir
// each hold a shared lock, as SQLite lets them share the database.

export const serverLockFileName = "gatehouse.lock";

export class ServerLockBusy extends Error {}

function openLockFile(dataDir: string): Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, serverLockFileName);
  closeSync(openSync(file, "a", 0o600));
  chmodSync(file, 0o600);
  return new Database(file, { strict: true });
}

function isBusy(error: unknown): boolean {
  return (error as { code?: string }).code === "SQLITE_BUSY";
}

/**
 * Takes the server's shared lock, waiting up to `waitMs` for a restore to
 * finish; returns what releases it. The caller must keep that function
 * reachable until it calls it: bun:sqlite closes a connection it garbage
 * collects, and the lock would go with it.
 */
export function holdServerLock(dataDir: string, waitMs = 5000): () => void {
  const lock = openLockFile(dataDir);
  try {
    lock.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(waitMs))}`);
    lock.run("CREATE TABLE IF NOT EXISTS server_lock (id INTEGER)");
    // In EXCLUSIVE locking mode SQLite keeps the shared lock of the first read
    // until the connection closes (https://sqlite.org/pragma.html#pragma_locking_mode).
    lock.run("PRAGMA locking_mode = EXCLUSIVE");
    lock.run("SELECT count(*) FROM server_lock");
  } catch (error) {
    lock.close();
    if (isBusy(error))
      throw new ServerLockBusy(
        `gatehouse restore is replacing the database in ${dataDir}; start the server when it is done`,
      );
    throw error;
  }
  return () => lock.close();
}

/**
 * Takes the exclusive lock at once, or returns null while a server holds the
 * shared one; returns what releases it.
 */
export function takeRestoreLock(dataDir: string): (() => void) | null {
  const lock = openLockFile(dataDir);
  try {
    lock.run("PRAGMA busy_timeout = 0");
    lock.run("BEGIN EXCLUSIVE");
  } catch (error) {
    lock.close();
    if (isBusy(error)) return null;
    throw error;
  }
  return () => {
    lock.run("COMMIT");
    lock.close();
  };
}
