import { Database } from "bun:sqlite";
import { beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTestApp, freePort } from "../helpers.ts";
import { embeddedTags } from "../../src/db/migrations.ts";
import { useCliSandbox } from "./sandbox.ts";

const cli = useCliSandbox();

/** The rows of `query` in a backup, which is a SQLite file whatever the store (VACUUM INTO). */
function backupRows(file: string, query: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.query(query).all();
  } finally {
    db.close();
  }
}

describe("migrate", () => {
  test("applies the migrations, then says the database is up to date", async () => {
    const first = await cli.gatehouse(["migrate"]);
    expect([first.code, first.out]).toEqual([0, `applied ${embeddedTags.join(", ")}\n`]);
    expect(await cli.gatehouse(["migrate"])).toEqual({ code: 0, out: "database is up to date\n", err: "" });
  });
});

describe("backup", () => {
  beforeEach(async () => {
    await cli.addUser("root@example.com", true);
    await cli.addUser("dev@example.com");
  });

  test("writes a SQLite copy with the same users", async () => {
    const file = join(cli.root, "copy.db");
    expect((await cli.gatehouse(["backup", file])).code).toBe(0);
    expect(backupRows(file, "PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
    expect(backupRows(file, "SELECT email FROM users")).toHaveLength(2);
  });

  test("the copy has mode 0600", async () => {
    const file = join(cli.root, "copy.db");
    await cli.gatehouse(["backup", file]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test("an existing file is refused with exit 1 and left alone", async () => {
    const file = join(cli.root, "copy.db");
    writeFileSync(file, "precious");
    const run = await cli.gatehouse(["backup", file]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("already exists");
    expect(await Bun.file(file).text()).toBe("precious");
  });

  test("copies a database a newer Gatehouse wrote, without migrating it", async () => {
    await cli.rows(
      sql`INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-the-future', ${Date.now() + 86_400_000}) RETURNING id`,
    );
    const file = join(cli.root, "copy.db");
    expect((await cli.gatehouse(["backup", file])).code).toBe(0);
    expect(backupRows(file, "SELECT id FROM __drizzle_migrations WHERE hash = 'from-the-future'")).toHaveLength(1);
  });

  test("an empty data dir exits 1 and writes no file", async () => {
    cli.dataDir = join(cli.root, "empty");
    const file = join(cli.root, "copy.db");
    const run = await cli.gatehouse(["backup", file]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("no database");
    expect(existsSync(file)).toBe(false);
  });
});

describe("healthcheck", () => {
  test("exits 0 when the server on this machine answers /readyz", async () => {
    const app = await createTestApp();
    try {
      const run = await cli.gatehouse(["healthcheck", "--port", String(app.config.port), "--host", "127.0.0.1"]);
      expect([run.code, run.out]).toEqual([0, "ok\n"]);
    } finally {
      await app.close();
    }
  });

  test("exits 1 with one line on stderr when nothing listens", async () => {
    const run = await cli.gatehouse(["healthcheck", "--port", String(freePort())]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/^gatehouse: http:\/\/127\.0\.0\.1:\d+\/readyz did not answer/);
    expect(run.err.trim().split("\n")).toHaveLength(1);
  });
});
