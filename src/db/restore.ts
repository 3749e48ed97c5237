import { Database } from "bun:sqlite";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { getTableName, is, Table } from "drizzle-orm";
import { databaseFileName } from "./client.ts";
import { appliedMigrations, hasUnknownMigrations, migrate } from "./migrate.ts";
import { migrations } from "./migrations.ts";
import * as schema from "./schema.ts";
import { takeRestoreLock } from "./server-lock.ts";

// `gatehouse restore FILE`: the backup is copied into the data directory and
// checked and migrated there, so nothing about the database in place changes
// until the copy is known good; then the database in place is kept aside
// under a new name and the copy takes its name in one rename.

/** A restore refused; the message says why and what to do. */
class RestoreRefused extends Error {}

export interface RestoreResult {
  database: string;
  /** Where the database that was in place is kept, or null when there was none. */
  keptAs: string | null;
  /** The migrations applied to the backup, as `serve` would have at start. */
  applied: string[];
}

export function restoreDatabase(dataDir: string, file: string, now: Date): RestoreResult {
  checkIsSqliteFile(file);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const release = takeRestoreLock(dataDir);
  if (!release) throw new RestoreRefused(`a Gatehouse server is running on ${dataDir}: stop the server first`);
  try {
    const database = join(dataDir, databaseFileName);
    const staged = `${database}.restoring`;
    // Left by a restore that died half-way; nobody else uses it while we hold the lock.
    removeDatabaseFiles(staged);
    try {
      const applied = stage(file, staged);
      const keptAs = existsSync(database) ? `${database}.before-restore-${stamp(now)}` : null;
      if (keptAs) replaceKeepingAside(database, keptAs, staged);
      else renameSync(staged, database);
      return { database, keptAs, applied };
    } finally {
      removeDatabaseFiles(staged);
    }
  } finally {
    release();
  }
}

/** The first 16 bytes of every SQLite database file (https://sqlite.org/fileformat.html §1.3). */
const sqliteMagic = "SQLite format 3\0";

function checkIsSqliteFile(file: string): void {
  if (!existsSync(file)) throw new RestoreRefused(`${file} does not exist`);
  if (!statSync(file).isFile()) throw new RestoreRefused(`${file} is not a file`);
  const header = Buffer.alloc(100);
  const fd = openSync(file, "r");
  let read: number;
  try {
    read = readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (read < header.length || header.toString("latin1", 0, 16) !== sqliteMagic)
    throw new RestoreRefused(`${file} is not a SQLite database`);
  // Its write-ahead log would hold changes the file alone does not have.
  if (existsSync(`${file}-wal`))
    throw new RestoreRefused(
      `${file}-wal exists: ${file} is in use or was copied while in use; make the copy with gatehouse backup`,
    );
}

/** Copies the backup to `staged` (0600), checks it and migrates it; returns the migrations applied. */
function stage(file: string, staged: string): string[] {
  copyFileSync(file, staged);
  chmodSync(staged, 0o600);
  const sqlite = new Database(staged, { strict: true });
  try {
    checkIntact(sqlite, file);
    checkIsGatehouse(sqlite, file);
    // One file to move into place; `serve` turns WAL mode back on.
    sqlite.run("PRAGMA journal_mode = DELETE");
    // As openDatabase does, so the migrations run as they would at start.
    sqlite.run("PRAGMA foreign_keys = ON");
    const { applied } = migrate(sqlite);
    checkHasTables(sqlite, file);
    return applied;
  } finally {
    sqlite.close();
  }
}

function checkIntact(sqlite: Database, file: string): void {
  let rows: { integrity_check: string }[];
  try {
    rows = sqlite.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "SQLITE_NOTADB") throw new RestoreRefused(`${file} is not a SQLite database`);
    if (code === "SQLITE_CORRUPT") throw new RestoreRefused(`${file} is damaged: ${(error as Error).message}`);
    throw error;
  }
  const problems = rows.map((r) => r.integrity_check).filter((line) => line !== "ok");
  if (problems.length > 0) throw new RestoreRefused(`${file} is damaged: PRAGMA integrity_check says "${problems[0]}"`);
}

/** A Gatehouse database records Gatehouse's first migration, and none this build does not know. */
function checkIsGatehouse(sqlite: Database, file: string): void {
  const history = sqlite
    .query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
    .get();
  const applied = history ? appliedMigrations(sqlite) : new Set<number>();
  if (!applied.has(migrations[0]!.createdAt)) throw new RestoreRefused(`${file} is not a Gatehouse database`);
  if (hasUnknownMigrations(applied))
    throw new RestoreRefused(
      `${file} was written by a newer version of Gatehouse; restore it with that version or a later one`,
    );
}

/** Every table of schema.ts, once migrated: a database whose history says more than its tables is refused. */
function checkHasTables(sqlite: Database, file: string): void {
  const present = new Set(
    sqlite
      .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((r) => r.name),
  );
  const missing = Object.values(schema).flatMap((value) =>
    is(value, Table) && !present.has(getTableName(value)) ? [getTableName(value)] : [],
  );
  if (missing.length > 0)
    throw new RestoreRefused(`${file} is not a Gatehouse database: it has no ${missing.join(", ")} table`);
}

/**
 * Keeps `database` as `keptAs` (0600) and renames `staged` over it. The name
 * `database` never goes missing: `keptAs` is a second link to the same file.
 */
function replaceKeepingAside(database: string, keptAs: string, staged: string): void {
  const current = new Database(database, { strict: true });
  try {
    current.run("PRAGMA busy_timeout = 5000");
    const folded = foldWriteAheadLog(current, database);
    linkSync(database, keptAs);
    chmodSync(keptAs, 0o600);
    // A file SQLite cannot read keeps its log beside it, under the name SQLite looks for.
    if (!folded && existsSync(`${database}-wal`)) renameSync(`${database}-wal`, `${keptAs}-wal`);
    rmSync(`${database}-shm`, { force: true });
    renameSync(staged, database);
    if (folded) current.run("COMMIT");
  } finally {
    current.close();
  }
}

/**
 * Checkpoints the write-ahead log into the file and leaves WAL mode, which
 * deletes the -wal and -shm files, then holds the file exclusively until
 * COMMIT; false when SQLite cannot read the file (what a restore may be for).
 * SQLite leaves WAL mode only when no other connection has the database open
 * (a gatehouse command still running, or a server that took no lock), and
 * says SQLITE_BUSY once the busy timeout has passed.
 */
function foldWriteAheadLog(current: Database, database: string): boolean {
  const inUse = new RestoreRefused(
    `${database} is open in another process (a server, or a gatehouse command); stop it first`,
  );
  try {
    const mode = current.query<{ journal_mode: string }, []>("PRAGMA journal_mode = DELETE").get()?.journal_mode;
    if (mode !== "delete") throw inUse;
    current.run("BEGIN EXCLUSIVE");
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") return false;
    throw code === "SQLITE_BUSY" ? inUse : error;
  }
  // Someone opened it between the two statements and turned WAL mode back on.
  if (existsSync(`${database}-wal`)) throw inUse;
  return true;
}

/** A database file with the files SQLite may keep beside it. */
function removeDatabaseFiles(file: string): void {
  for (const suffix of ["", "-journal", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
}

/** 2026-11-30T21:15:00.123Z as 20261130T211500Z, for file names. */
function stamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/[-:]/g, "");
}
