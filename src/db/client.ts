import { Database } from "bun:sqlite";
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { sqliteDialectSql } from "./dialect.ts";
import * as schema from "./schema.ts";
import type { Store } from "./store.ts";

export const databaseFileName = "gatehouse.db";

/** A store known to be SQLite's, its connection typed as such (SQLite's own tests and tools). */
export type SqliteStore = Store & { readonly $client: Database };

/** Opens (creating if needed) the database in `dataDir`: directory 0700, file 0600. */
export function openDatabase(dataDir: string): SqliteStore {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const file = join(dataDir, databaseFileName);
  // Create the file with 0600 before SQLite does; SQLite gives its -wal and
  // -shm files the database file's permissions.
  closeSync(openSync(file, "a", 0o600));
  chmodSync(file, 0o600);
  const sqlite = new Database(file, { strict: true });
  sqlite.run("PRAGMA busy_timeout = 5000");
  sqlite.run("PRAGMA journal_mode = WAL");
  sqlite.run("PRAGMA synchronous = NORMAL");
  sqlite.run("PRAGMA foreign_keys = ON");
  return Object.assign(drizzle({ client: sqlite, schema }), {
    tables: schema,
    dialectSql: sqliteDialectSql,
  }) as SqliteStore;
}
