import { afterEach, beforeEach } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type SQL, sql } from "drizzle-orm";
import { runCli } from "../../src/cli.ts";
import { loadConfig } from "../../src/config.ts";
import { openStore } from "../../src/db/open.ts";
import { closeStore, migrateStore } from "../../src/db/operations.ts";
import type { Store } from "../../src/db/store.ts";
import { tempDir } from "../helpers.ts";
import { selectSql } from "../support/sql.ts";
import { freshTestDatabase } from "../support/store.ts";

export const keyLine = /^gate_key_[a-z2-7]{16}_[a-z2-7]{52}\n$/;
export const password = "a long password 123";
export const now = () => Math.floor(Date.now() / 1000);
/** The id and secret parts of a `gate_key_<id>_<secret>` token. */
export const idOf = (token: string) => token.split("_")[2]!;
export const secretOf = (token: string) => token.split("_")[3]!;

export type UserRow = { email: string; is_admin: number; password_hash: string | null; disabled_at: number | null };
export type KeyRow = { id: string; name: string; scope: string; expires_at: number | null; revoked_at: number | null };

/**
 * Each test runs the CLI in-process against its own temp data dir, then
 * reads the database it left behind through a store of its own.
 */
export function useCliSandbox() {
  const box = {
    root: "",
    dataDir: "",
    /** GATEHOUSE_DATABASE_URL of this test's database on PostgreSQL (test/support/store.ts); empty on SQLite. */
    env: {} as Record<string, string>,
    drop: async () => {},
    async gatehouse(
      argv: string[],
      stdin = "",
      env: Record<string, string> = {},
    ): Promise<{ code: number; out: string; err: string }> {
      let out = "";
      let err = "";
      const code = await runCli([...argv, "--data-dir", box.dataDir], {
        env: { ...box.env, ...env },
        out: (text) => void (out += text),
        err: (text) => void (err += text),
        readStdin: async () => stdin,
      });
      return { code, out, err };
    },
    /** A store of the test's own on the database the commands use, migrated; the caller closes it. */
    async openDb(): Promise<Store> {
      const db = openStore(loadConfig({ GATEHOUSE_DATA_DIR: box.dataDir, ...box.env }));
      await migrateStore(db);
      return db;
    },
    async rows<T>(query: SQL): Promise<T[]> {
      const db = await box.openDb();
      try {
        return await selectSql<T>(db, query);
      } finally {
        await closeStore(db);
      }
    },
    users: () => box.rows<UserRow>(sql`SELECT email, is_admin, password_hash, disabled_at FROM users ORDER BY email`),
    keys: () => box.rows<KeyRow>(sql`SELECT id, name, scope, expires_at, revoked_at FROM api_keys`),
    async addUser(email: string, admin = false): Promise<void> {
      const run = await box.gatehouse(["user", "add", "--email", email, ...(admin ? ["--admin"] : [])]);
      if (run.code !== 0) throw new Error(`user add failed: ${run.err}`);
    },
    async createKey(email: string, ...flags: string[]): Promise<string> {
      // Named ci unless the flags name it: a person's live keys have different names.
      const name = flags.includes("--name") ? [] : ["--name", "ci"];
      const run = await box.gatehouse(["key", "create", "--user", email, ...name, ...flags]);
      if (run.code !== 0) throw new Error(`key create failed: ${run.err}`);
      return run.out.trim();
    },
  };
  beforeEach(async () => {
    box.root = tempDir();
    box.dataDir = join(box.root, "data");
    const database = await freshTestDatabase();
    box.env = database.env;
    box.drop = database.drop;
  });
  afterEach(async () => {
    rmSync(box.root, { recursive: true, force: true });
    await box.drop();
  });
  return box;
}
