import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Glob } from "bun";
import { is, Table } from "drizzle-orm";
import * as schema from "../../src/db/schema.ts";

// Issue 15: every store is written against the store contract
// (src/db/store.ts), so the same code runs on PostgreSQL (issue 16). Outside
// src/db nothing may use what only bun:sqlite has: Drizzle's synchronous
// terminators (.get(), .all(), .run(), .values(), on builders and prepared
// statements alike), the raw connection ($client), or a table imported from
// schema.ts instead of taken from the store (`db.tables`).

const root = join(import.meta.dir, "../..");

/** Each source file outside src/db, with its comments removed (they may name what they replace). */
function sources(): { path: string; code: string }[] {
  const files: { path: string; code: string }[] = [];
  for (const path of new Glob("src/**/*.{ts,tsx}").scanSync(root)) {
    if (path.startsWith("src/db/")) continue;
    const text = readFileSync(join(root, path), "utf8");
    // Comments blanked line for line, so a finding's line number is the file's.
    const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, "")).replace(/^\s*\/\/.*$/gm, "");
    files.push({ path, code });
  }
  return files;
}

/** `file:line: text` for each match of `pattern` in the sources. */
function findings(pattern: RegExp): string[] {
  const found: string[] = [];
  for (const { path, code } of sources())
    for (const match of code.matchAll(pattern)) {
      const line = code.slice(0, match.index).split("\n").length;
      found.push(`${path}:${line}: ${match[0].replace(/\s+/g, " ")}`);
    }
  return found;
}

describe("no SQLite-only storage calls outside src/db", () => {
  test("the sources are found (the test reads the tree it guards)", () => {
    expect(sources().length).toBeGreaterThan(100);
  });

  test("no .get(), .all(), .run() or .values() ending a query (a Map's get(key) and values() aside)", () => {
    expect(findings(/\)\s*\.(get|all|run|values)\(\s*\)/g)).toEqual([]);
  });

  test("no prepared statement run with them either (xQuery(db).get({ id }), query.run(row))", () => {
    expect(findings(/(Query\(\w+\)|\b\w*[qQ]uery)\s*\.(get|all|run|values)\(/g)).toEqual([]);
  });

  test("no bun:sqlite outside src/db", () => {
    expect(findings(/from\s+"bun:sqlite"|\bnew Database\(/g)).toEqual([]);
  });

  test("no raw connection ($client)", () => {
    expect(findings(/\$client\b/g)).toEqual([]);
  });

  test("no table imported from schema.ts: stores take them from db.tables", () => {
    const tables = new Set(Object.entries(schema).flatMap(([name, value]) => (is(value, Table) ? [name] : [])));
    expect(tables.has("users")).toBe(true);
    const imported: string[] = [];
    for (const { path, code } of sources())
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
