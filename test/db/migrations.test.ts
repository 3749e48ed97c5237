import type { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { migrate as drizzleMigrate } from "drizzle-orm/bun-sqlite/migrator";
import { readMigrationFiles } from "drizzle-orm/migrator";
import journal from "../../drizzle/meta/_journal.json";
import { databaseFileName, openDatabase, type SqliteStore } from "../../src/db/client.ts";
import { migrate, NewerDatabaseError } from "../../src/db/migrate.ts";
import { embeddedTags, migrations } from "../../src/db/migrations.ts";
import { tempDir } from "../helpers.ts";

const drizzleDir = join(import.meta.dir, "../../drizzle");
const modeOf = (path: string) => statSync(path).mode & 0o777;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0)) fn();
});

/** A database in a fresh temp data dir, closed and removed after the test. */
function freshDb(): { db: SqliteStore; dataDir: string } {
  const root = tempDir();
  const dataDir = join(root, "data");
  const db = openDatabase(dataDir);
  cleanups.push(() => {
    db.$client.close();
    rmSync(root, { recursive: true, force: true });
  });
  return { db, dataDir };
}

/** Every table with its row count, and every schema object's SQL: what "unchanged" means. */
function snapshot(sqlite: Database) {
  const objects = sqlite
    .query<{ type: string; name: string; sql: string | null }, []>(
      "SELECT type, name, sql FROM sqlite_master ORDER BY name",
    )
    .all();
  const counts = objects
    .filter((o) => o.type === "table" && !o.name.startsWith("sqlite_"))
    .map((o) => [o.name, sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM "${o.name}"`).get()!.n]);
  const bookkeeping = objects.some((o) => o.name === "__drizzle_migrations")
    ? sqlite.query("SELECT id, hash, created_at FROM __drizzle_migrations ORDER BY id").all()
    : [];
  return { objects, counts, bookkeeping };
}

function tableNames(sqlite: Database): string[] {
  return sqlite
    .query<{ name: string }, []>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all()
    .map((r) => r.name);
}

describe("embedded migrations", () => {
  test("every .sql file in drizzle/ is embedded", () => {
    const files = readdirSync(drizzleDir)
      .filter((f) => f.endsWith(".sql"))
      .map((f) => f.slice(0, -".sql".length))
      .sort();
    expect([...embeddedTags].sort()).toEqual(files);
  });

  test("every journal entry is embedded, in journal order", () => {
    expect(migrations.map((m) => m.tag)).toEqual(journal.entries.map((e) => e.tag));
    expect(journal.entries.every((e) => embeddedTags.includes(e.tag))).toBe(true);
  });

  test("embedded SQL is byte-for-byte the file on disk", async () => {
    for (const m of migrations) expect(m.sql).toBe(await Bun.file(join(drizzleDir, `${m.tag}.sql`)).text());
  });

  test("migrations are ordered by their journal time", () => {
    const times = migrations.map((m) => m.createdAt);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});

describe("migrate", () => {
  test("a fresh database gets every migration", () => {
    const { db } = freshDb();
    expect(migrate(db.$client).applied).toEqual(journal.entries.map((e) => e.tag));
    expect(tableNames(db.$client)).toEqual([
      "__drizzle_migrations",
      "api_keys",
      "audit_events",
      "auth_epoch",
      "identity_links",
      "invitations",
      "oauth_bridge_codes",
      "oauth_clients",
      "oauth_codes",
      "oauth_device_codes",
      "oauth_grants",
      "oauth_pending_requests",
      "oauth_tokens",
      "sessions",
      "setup_tokens",
      "users",
    ]);
  });

  test("a second run applies none", () => {
    const { db } = freshDb();
    migrate(db.$client);
    const before = snapshot(db.$client);
    expect(migrate(db.$client).applied).toEqual([]);
    expect(snapshot(db.$client)).toEqual(before);
  });

  test("it records the hash and time drizzle's own migrator would", () => {
    const { db } = freshDb();
    migrate(db.$client);
    const rows = db.$client
      .query<{ hash: string; created_at: number }, []>("SELECT hash, created_at FROM __drizzle_migrations ORDER BY id")
      .all();
    const expected = readMigrationFiles({ migrationsFolder: drizzleDir }).map((m) => ({
      hash: m.hash,
      created_at: m.folderMillis,
    }));
    expect(rows.map((r) => ({ hash: r.hash, created_at: Number(r.created_at) }))).toEqual(expected);
  });

  test("drizzle's own migrator sees a migrated database as up to date", () => {
    const { db } = freshDb();
    migrate(db.$client);
    const before = snapshot(db.$client);
    drizzleMigrate(db as unknown as Parameters<typeof drizzleMigrate>[0], { migrationsFolder: drizzleDir });
    expect(snapshot(db.$client)).toEqual(before);
  });

  test("a database with an unknown migration is refused with NewerDatabaseError", () => {
    const { db } = freshDb();
    migrate(db.$client);
    db.$client.run("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-the-future', ?)", [
      Date.now() + 86_400_000,
    ]);
    expect(() => migrate(db.$client)).toThrow(NewerDatabaseError);
  });

  test("a refused newer database is left as it was", () => {
    const { db } = freshDb();
    migrate(db.$client);
    db.$client.run("INSERT INTO users (id, email, is_admin, created_at) VALUES ('u1', 'a@b.co', 1, 1)");
    db.$client.run("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-the-future', ?)", [
      Date.now() + 86_400_000,
    ]);
    const before = snapshot(db.$client);
    expect(() => migrate(db.$client)).toThrow(NewerDatabaseError);
    expect(snapshot(db.$client)).toEqual(before);
  });

  test("a newer database missing one of our migrations still gets nothing applied", () => {
    const { db } = freshDb();
    db.$client.run(
      "CREATE TABLE __drizzle_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)",
    );
    db.$client.run("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-the-future', 1)");
    const before = snapshot(db.$client);
    expect(() => migrate(db.$client)).toThrow(NewerDatabaseError);
    expect(snapshot(db.$client)).toEqual(before);
    expect(tableNames(db.$client)).toEqual(["__drizzle_migrations"]);
  });
});

describe("openDatabase", () => {
  test("creates the data dir with mode 0700", () => {
    const { dataDir } = freshDb();
    expect(modeOf(dataDir)).toBe(0o700);
  });

  test("tightens an existing data dir to 0700", () => {
    const dataDir = join(tempDir(), "data");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const db = openDatabase(dataDir);
    cleanups.push(() => {
      db.$client.close();
      rmSync(join(dataDir, ".."), { recursive: true, force: true });
    });
    expect(modeOf(dataDir)).toBe(0o700);
  });

  test(`creates ${databaseFileName} with mode 0600`, () => {
    const { dataDir } = freshDb();
    expect(modeOf(join(dataDir, databaseFileName))).toBe(0o600);
  });

  test("the write-ahead log file is 0600 too", () => {
    const { db, dataDir } = freshDb();
    migrate(db.$client);
    expect(modeOf(join(dataDir, `${databaseFileName}-wal`))).toBe(0o600);
  });

  test("journal_mode is wal", () => {
    const { db } = freshDb();
    expect(db.$client.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
  });

  test("foreign_keys is on", () => {
    const { db } = freshDb();
    expect(db.$client.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
  });

  test("foreign keys are enforced", () => {
    const { db } = freshDb();
    migrate(db.$client);
    expect(() =>
      db.$client.run(
        "INSERT INTO api_keys (id, user_id, name, secret_hash, scope, created_at) VALUES ('k', 'nobody', 'n', 'h', 's', 1)",
      ),
    ).toThrow(/FOREIGN KEY/);
  });
});

describe("0006: the CIMD last good copy", () => {
  test("a document cached before it counts as fetched a day (the longest cache time) before it expires", () => {
    const { db } = freshDb();
    migrate(
      db.$client,
      migrations.filter((m) => m.tag < "0006"),
    );
    const insert =
      "INSERT INTO oauth_clients (id, kind, name, redirect_uris, token_endpoint_auth_method, metadata_expires_at, created_at) VALUES (?, ?, 'n', '[]', 'none', ?, 1)";
    db.$client.run(insert, ["https://client.example/doc.json", "cimd", 2_000_000]);
    db.$client.run(insert, ["dcr-client", "dcr", null]);
    expect(
      migrate(
        db.$client,
        migrations.filter((m) => m.tag < "0007"),
      ).applied,
    ).toEqual(["0006_cimd_last_good_copy"]);
    const fetchedAt = db.$client
      .query<{ id: string; fetched: number | null }, []>(
        "SELECT id, metadata_fetched_at AS fetched FROM oauth_clients ORDER BY id",
      )
      .all();
    expect(fetchedAt).toEqual([
      { id: "dcr-client", fetched: null },
      { id: "https://client.example/doc.json", fetched: 2_000_000 - 86400 },
    ]);
  });
});
