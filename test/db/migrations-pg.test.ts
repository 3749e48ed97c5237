import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import journal from "../../drizzle-pg/meta/_journal.json";
import { migratePostgres, NewerDatabaseError } from "../../src/db/migrate.ts";
import { embeddedPostgresTags, postgresMigrations } from "../../src/db/migrations-pg.ts";
import { freshTestDatabase, onPostgres, type TestDatabase } from "../support/store.ts";

// PostgreSQL's migrations (issue 16): embedded like SQLite's, and applied
// once however many instances start together.

const folder = join(import.meta.dir, "../../drizzle-pg");

test("every .sql file in drizzle-pg/ is embedded, in the journal's order", () => {
  const files = readdirSync(folder)
    .filter((f) => f.endsWith(".sql"))
    .map((f) => f.replace(/\.sql$/, ""))
    .sort();
  expect([...embeddedPostgresTags].sort()).toEqual(files);
  expect(postgresMigrations.map((m) => m.tag)).toEqual(journal.entries.map((e) => e.tag));
});

describe.skipIf(!onPostgres)("on PostgreSQL", () => {
  const opened: { database: TestDatabase; clients: SQL[] }[] = [];
  afterEach(async () => {
    for (const { database, clients } of opened.splice(0)) {
      await Promise.all(clients.map((c) => c.close()));
      await database.drop();
    }
  });
  /** An empty database and `n` separate pools on it, as `n` instances would have. */
  const emptyDatabase = async (n: number) => {
    const database = await freshTestDatabase({ migrated: false });
    const clients = Array.from({ length: n }, () => new SQL(database.env.GATEHOUSE_DATABASE_URL!, { max: 2 }));
    opened.push({ database, clients });
    return clients;
  };

  test("five instances migrating one empty database at once: each migration is applied once, and all five succeed", async () => {
    const clients = await emptyDatabase(5);
    const results = await Promise.all(clients.map((c) => migratePostgres(c)));
    const applied = results.flatMap((r) => r.applied);
    expect(applied.sort()).toEqual(postgresMigrations.map((m) => m.tag).sort());
    const [{ n }] = await clients[0]!`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`;
    expect(n).toBe(postgresMigrations.length);
    const [{ epoch }] = await clients[0]!`SELECT count(*)::int AS epoch FROM auth_epoch`;
    expect(epoch).toBe(1);
  });

  test("a database with a migration this build does not know is refused untouched", async () => {
    const [client] = await emptyDatabase(1);
    await migratePostgres(client!);
    await client!`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('future', ${Date.now() + 1e9})`;
    await expect(migratePostgres(client!)).rejects.toBeInstanceOf(NewerDatabaseError);
  });

  test("migrating again applies nothing", async () => {
    const [client] = await emptyDatabase(1);
    expect((await migratePostgres(client!)).applied).toHaveLength(postgresMigrations.length);
    expect((await migratePostgres(client!)).applied).toEqual([]);
  });
});
