import { SQL } from "bun";
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeHexLowerCase } from "@oslojs/encoding";
import { loadConfig } from "../../src/config.ts";
import { migratePostgres } from "../../src/db/migrate.ts";
import { openStore } from "../../src/db/open.ts";
import { closeStore, migrateStore } from "../../src/db/operations.ts";
import type { Store } from "../../src/db/store.ts";
import { postgresMigrations } from "../../src/db/migrations-pg.ts";

// Where the tests' databases come from (issue 16). Unset, every test app has
// its SQLite file in its temp data directory, as before. With
// GATEHOUSE_TEST_DATABASE_URL (a PostgreSQL server's URL, e.g. the throwaway
// cluster .ci/run starts), every test app gets a database of its own, cloned
// from a template migrated once (CREATE DATABASE … TEMPLATE copies files: tens
// of milliseconds, where migrating costs hundreds), and dropped on close.

/** The PostgreSQL server the suite runs against, or null for SQLite. */
export const testDatabaseUrl: string | null = process.env.GATEHOUSE_TEST_DATABASE_URL || null;

/** True when the suite runs on PostgreSQL: tests of what is SQLite's own skip (test.skipIf(onPostgres)). */
export const onPostgres = testDatabaseUrl !== null;

let admin: SQL | null = null;
let template: Promise<string> | null = null;

/** The server-wide connection that creates and drops the test databases. */
function adminClient(): SQL {
  admin ??= new SQL(testDatabaseUrl!, { max: 2 });
  return admin;
}

/** The URL of database `name` on the test server. */
function urlOf(name: string): string {
  const url = new URL(testDatabaseUrl!);
  url.pathname = `/${name}`;
  return url.href;
}

/**
 * The migrated template, named by a digest of the migrations so a changed
 * migration gets a template of its own. Made once per server under an
 * advisory lock: test processes running at once share it.
 */
function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const digest = encodeHexLowerCase(
      sha256(new TextEncoder().encode(postgresMigrations.map((m) => m.sql).join())),
    ).slice(0, 12);
    const name = `gatehouse_template_${digest}`;
    // CREATE DATABASE cannot run in a transaction: a session lock on one connection instead.
    const conn = await adminClient().reserve();
    try {
      await conn`SELECT pg_advisory_lock(hashtext('gatehouse test template'))`;
      const [found] = await conn`SELECT 1 FROM pg_database WHERE datname = ${name}`;
      if (!found) {
        await conn.unsafe(`DROP DATABASE IF EXISTS ${name}_wip`);
        await conn.unsafe(`CREATE DATABASE ${name}_wip`);
        const client = new SQL(urlOf(`${name}_wip`), { max: 1 });
        try {
          await migratePostgres(client);
        } finally {
          await client.close();
        }
        await conn.unsafe(`ALTER DATABASE ${name}_wip RENAME TO ${name}`);
      }
      await conn`SELECT pg_advisory_unlock(hashtext('gatehouse test template'))`;
    } finally {
      conn.release();
    }
    return name;
  })();
  return template;
}

export interface TestDatabase {
  /** Settings that point a config (or a spawned server) at it: empty for SQLite. */
  env: Record<string, string>;
  /** Drops it (PostgreSQL); the caller closes its own store first. */
  drop(): Promise<void>;
}

/** A fresh database for one test app: migrated, or on PostgreSQL empty with `{ migrated: false }`. */
export async function freshTestDatabase(opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  if (!onPostgres) return { env: {}, drop: async () => {} };
  const name = `gatehouse_test_${crypto.randomUUID().replaceAll("-", "")}`;
  const template = opts.migrated === false ? "template0" : await migratedTemplate();
  await adminClient().unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  return {
    env: { GATEHOUSE_DATABASE_URL: urlOf(name) },
    drop: async () => {
      await adminClient().unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

const byDataDir = new Map<string, Promise<TestDatabase>>();

/**
 * A migrated store for a test that builds its own app: the SQLite file in
 * `dataDir`, or on PostgreSQL a database of that data directory's own, the
 * same one each time it is opened again (a restart). `env` points a config at
 * it; `close` closes the store. The databases of these tests are left for the
 * throwaway server (createTestApp's are dropped).
 */
export async function openTestStore(
  dataDir: string,
): Promise<{ db: Store; env: Record<string, string>; close(): Promise<void> }> {
  let database = byDataDir.get(dataDir);
  if (database === undefined) {
    database = freshTestDatabase();
    byDataDir.set(dataDir, database);
  }
  const { env } = await database;
  const db = openStore(loadConfig({ GATEHOUSE_DATA_DIR: dataDir, ...env }));
  await migrateStore(db);
  return { db, env, close: () => closeStore(db) };
}
