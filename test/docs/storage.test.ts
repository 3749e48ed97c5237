import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { getTableName } from "drizzle-orm";
import { auditEvents, auditOutcomes } from "../../src/audit/entry.ts";
import { openDatabase, type SqliteStore } from "../../src/db/client.ts";
import { closeStore, migrateStore } from "../../src/db/operations.ts";
import { tempDir } from "../helpers.ts";

// docs/storage.md describes every table and column of the database: the
// tables and columns are read from a freshly migrated SQLite file (what a
// real start creates, drizzle's bookkeeping table included), not from a list
// kept by hand.

const storageDoc = readFileSync(join(import.meta.dir, "../../docs/storage.md"), "utf8");

/** The text of each `## name` section of docs/storage.md, by name. */
function sections(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  const parts = markdown.split(/^## /m).slice(1);
  for (const part of parts) {
    const newline = part.indexOf("\n");
    found.set(part.slice(0, newline).trim(), part.slice(newline + 1));
  }
  return found;
}

/**
 * The column names a section names: the comma-separated names in the first
 * cell of its table rows, and every `backticked` word.
 */
function namedIn(section: string): Set<string> {
  const names = new Set<string>();
  for (const line of section.split("\n")) {
    const cell = /^\|([^|]+)\|/.exec(line)?.[1];
    if (cell) for (const name of cell.split(",")) names.add(name.trim());
  }
  for (const match of section.matchAll(/`([a-z_][a-z0-9_]*)`/g)) names.add(match[1]!);
  return names;
}

let root: string;
let db: SqliteStore;
beforeAll(async () => {
  root = tempDir();
  db = openDatabase(join(root, "data"));
  await migrateStore(db);
});
afterAll(async () => {
  await closeStore(db);
  rmSync(root, { recursive: true, force: true });
});

const tables = () =>
  db.$client
    .query<{ name: string }, []>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all()
    .map((t) => t.name);
const columns = (table: string) =>
  db.$client
    .query<{ name: string }, []>(`SELECT name FROM pragma_table_info('${table}')`)
    .all()
    .map((c) => c.name);

describe("docs/storage.md", () => {
  test("reads a migrated database with the device, bridge and bookkeeping tables", () => {
    expect(tables()).toContain("oauth_device_codes");
    expect(tables()).toContain("oauth_bridge_codes");
    expect(tables()).toContain("__drizzle_migrations");
  });

  test("has a section for every table of the migrated database", () => {
    const documented = sections(storageDoc);
    const missing = tables().filter((table) => !documented.has(table));
    expect(missing).toEqual([]);
  });

  test("names every column of every table in that table's section", () => {
    const documented = sections(storageDoc);
    const missing = tables().flatMap((table) => {
      const named = namedIn(documented.get(table) ?? "");
      return columns(table)
        .filter((column) => !named.has(column))
        .map((column) => `${table}.${column}`);
    });
    expect(missing).toEqual([]);
  });

  test("lists every value of the schema's enum columns (client kinds, token kinds, …) in their rows", () => {
    const documented = sections(storageDoc);
    const { oauthClients, oauthDeviceCodes, oauthTokens, users } = db.tables;
    const missing = [oauthClients.kind, oauthTokens.kind, oauthDeviceCodes.status, users.kind].flatMap((column) => {
      const table = getTableName(column.table);
      const row = (documented.get(table) ?? "").split("\n").find((line) => line.startsWith(`| ${column.name} |`)) ?? "";
      return column
        .enumValues!.filter((value) => !row.includes(`\`${value}\``))
        .map((value) => `${table}.${column.name} ${value}`);
    });
    expect(missing).toEqual([]);
  });

  test("lists every audit event and outcome the code records in audit_events", () => {
    const section = sections(storageDoc).get("audit_events")!;
    const row = (column: string) => section.split("\n").find((line) => line.startsWith(`| ${column} |`))!;
    expect(auditEvents.filter((event) => !row("event").includes(`\`${event}\``))).toEqual([]);
    expect(auditOutcomes.filter((outcome) => !row("outcome").includes(`\`${outcome}\``))).toEqual([]);
  });
});
