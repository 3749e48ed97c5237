import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Glob } from "bun";
import { is, Table } from "drizzle-orm";
import * as schema from "../../src/db/schema.ts";

// Issue 15: every store is written against the store contract
// (src/db/store.ts), so the same code runs on PostgreSQL (issue 16), and so
// do the tests. Outside src/db nothing may use what only bun:sqlite has:
// Drizzle's synchronous terminators (.get(), .all(), .run(), .values(), on
// builders and prepared statements alike), the raw connection ($client),
// bun:sqlite itself, or a table imported from schema.ts instead of taken
// from the store (`db.tables`). Tests run SQL of their own only through
// test/support/sql.ts.

const root = join(import.meta.dir, "../..");

/**
 * Test files about SQLite itself, which issue 16 skips on PostgreSQL: each
 * with why. Everything else under test/ must keep to the contract.
 */
const sqliteOwnTests: Record<string, string> = {
  "test/db/store-boundary.test.ts": "this file: it spells the patterns it looks for",
  "test/db/transaction.test.ts": "the SQLite runner, and the hazard it closes, on a bun:sqlite connection",
  "test/db/migrations.test.ts": "the SQLite migrations, file modes, WAL and PRAGMAs",
  "test/db/indexes.test.ts": "SQLite's query plans (EXPLAIN QUERY PLAN)",
  "test/e2e/binary.test.ts": "opens the SQLite file `gatehouse backup` writes",
  "test/cli/server-commands.test.ts": "opens the SQLite file `gatehouse backup` writes (VACUUM INTO)",
  "test/cli/restore.test.ts": "`gatehouse restore`, SQLite's own: makes older, newer, foreign and damaged SQLite files",
  "test/docs/storage.test.ts": "lists tables and columns from sqlite_master and pragma_table_info",
  "test/audit/recorder.test.ts": "the audit writer thread's own connection, and WAL checkpoint PRAGMAs",
  "test/mcp/credential-cache.test.ts": "a second bun:sqlite connection stands in for another process",
};

/** Each file of a tree with its comments blanked (they may name what they replace). */
function sourcesOf(pattern: string, skip: (path: string) => boolean): { path: string; code: string }[] {
  const files: { path: string; code: string }[] = [];
  for (const path of new Glob(pattern).scanSync(root)) {
    if (skip(path)) continue;
    const text = readFileSync(join(root, path), "utf8");
    // Comments blanked line for line, so a finding's line number is the file's.
    const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, "")).replace(/^\s*\/\/.*$/gm, "");
    files.push({ path, code });
  }
  return files;
}

const trees = [
  { name: "src outside src/db", files: () => sourcesOf("src/**/*.{ts,tsx}", (path) => path.startsWith("src/db/")) },
  { name: "the tests", files: () => sourcesOf("test/**/*.{ts,tsx}", (path) => path in sqliteOwnTests) },
];

describe.each(trees)("no SQLite-only storage calls in $name", ({ files }) => {
  /** `file:line: text` for each match of `pattern`. */
  const findings = (pattern: RegExp): string[] => {
    const found: string[] = [];
    for (const { path, code } of files())
      for (const match of code.matchAll(pattern)) {
        const line = code.slice(0, match.index).split("\n").length;
        found.push(`${path}:${line}: ${match[0].replace(/\s+/g, " ")}`);
      }
    return found;
  };

  test("the files are found (the test reads the tree it guards)", () => {
    expect(files().length).toBeGreaterThan(100);
  });

  test("no .get(), .all(), .run() or .values() ending a query (a Map's get(key) and values() aside)", () => {
    expect(findings(/\)\s*\.(get|all|run|values)\(\s*\)/g)).toEqual([]);
  });

  test("no prepared statement run with them either (xQuery(db).get({ id }), query.run(row))", () => {
    // A URLSearchParams named query reads query.get("state"): a string argument is no statement's.
    expect(findings(/(Query\(\w+\)|\b\w*[qQ]uery)\s*\.(get|all|run|values)\((?!\s*["'`])/g)).toEqual([]);
  });

  test("no bun:sqlite", () => {
    expect(findings(/from\s+"bun:sqlite"|\bnew Database\(/g)).toEqual([]);
  });

  test("no raw connection ($client)", () => {
    expect(findings(/\$client\b/g)).toEqual([]);
  });

  test("no table imported from schema.ts: they come from db.tables", () => {
    const tables = new Set(Object.entries(schema).flatMap(([name, value]) => (is(value, Table) ? [name] : [])));
    expect(tables.has("users")).toBe(true);
    const imported: string[] = [];
    for (const { path, code } of files())
      for (const match of code.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+"[^"]*\/db\/schema\.ts"/g)) {
        if (match[1]) continue;
        for (const item of match[2]!.split(",")) {
          const name = item.trim();
          if (name && !name.startsWith("type ") && tables.has(name)) imported.push(`${path}: ${name}`);
        }
      }
    expect(imported).toEqual([]);
  });
});
