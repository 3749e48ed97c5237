import { describe, expect, test } from "bun:test";
import { type Migration, migrations } from "../../src/db/migrations.ts";
import { postgresMigrations } from "../../src/db/migrations-pg.ts";

// Rolling upgrades (docs/operations.md "Upgrades"): while new instances start,
// older ones keep serving on the database the first new one migrated. So a
// migration only adds (expand); what the previous release stopped using is
// removed by a later release (contract), listed below with the release since
// which nothing reads it. A migration that drops, renames or retypes, or adds
// a NOT NULL column without a default (an older instance's insert leaves it
// out), fails here unless it is listed. SQLite's migrations are held to the
// same rule: their PostgreSQL twins must say the same (schema-parity.test.ts),
// and drizzle-kit writes a SQLite table rebuild as DROP TABLE and RENAME.

/** Contract migrations, "drizzle-pg/<tag>" or "drizzle/<tag>", each with what it removes and since when that is unused. */
const contractMigrations: Record<string, string> = {};

const contractPatterns: [RegExp, string][] = [
  [/\bDROP\s+(TABLE|COLUMN|INDEX|VIEW|SCHEMA|TYPE|SEQUENCE|CONSTRAINT)\b/, "drops $1"],
  [/\bRENAME\b/, "renames"],
  [/\bALTER\s+COLUMN\b[^;]*\b(TYPE|SET\s+NOT\s+NULL|DROP\s+DEFAULT)\b/, "alters a column ($1)"],
];

/** SQL with comments gone and names unquoted, on one line. */
function plain(statement: string): string {
  return statement
    .replace(/--[^\n]*/g, " ")
    .replace(/[`"]/g, "")
    .replace(/\s+/g, " ")
    .toUpperCase();
}

/** A column added NOT NULL without a DEFAULT: rows an older instance inserts leave it out and fail. */
function addsRequiredColumn(sql: string): boolean {
  return [...sql.matchAll(/\bADD\s+(?!CONSTRAINT\b)(?:COLUMN\s+)?([^,;]*)/g)].some(
    ([, clause]) => /\bNOT NULL\b/.test(clause!) && !/\bDEFAULT\b/.test(clause!),
  );
}

/** What in these statements an instance of the previous release could trip on; empty when they only add. */
function contractSteps(statements: string[]): string[] {
  const sqls = statements.map(plain);
  const created = new Set(
    sqls.flatMap((sql) => [...sql.matchAll(/\bCREATE (?:OR REPLACE )?(?:TRIGGER|FUNCTION) (\w+)/g)].map((m) => m[1]!)),
  );
  return sqls.flatMap((sql) => {
    const found = contractPatterns.flatMap(([pattern, what]) => {
      const match = sql.match(pattern);
      return match ? [what.replace("$1", (match[1] ?? "").toLowerCase())] : [];
    });
    if (addsRequiredColumn(sql)) found.push("adds a NOT NULL column without a default");
    // A trigger or function dropped and created again in the same migration (new columns to watch) is a replacement.
    for (const [, kind, name] of sql.matchAll(/\bDROP (TRIGGER|FUNCTION) (?:IF EXISTS )?(\w+)/g)) {
      if (!created.has(name!)) found.push(`drops ${kind!.toLowerCase()} ${name!.toLowerCase()} for good`);
    }
    return found.map((what) => `${what}: ${sql.slice(0, 120)}`);
  });
}

const shipped: [string, Migration][] = [
  ...migrations.map((m): [string, Migration] => [`drizzle/${m.tag}`, m]),
  ...postgresMigrations.map((m): [string, Migration] => [`drizzle-pg/${m.tag}`, m]),
];

describe("migrations only add, so an older instance keeps working during a rolling upgrade", () => {
  test.each(shipped.filter(([name]) => !(name in contractMigrations)))("%s", (_name, migration) => {
    expect(contractSteps(migration.statements)).toEqual([]);
  });

  test("every listed contract migration exists", () => {
    const names = new Set(shipped.map(([name]) => name));
    expect(Object.keys(contractMigrations).filter((name) => !names.has(name))).toEqual([]);
  });
});

describe("the check", () => {
  test("finds drops, renames, retyped columns, required columns without a default and triggers dropped for good", () => {
    const found = contractSteps([
      'ALTER TABLE "users" DROP COLUMN "name";',
      "DROP TABLE `sessions`;",
      'ALTER TABLE "api_keys" RENAME COLUMN "scope" TO "access";',
      "ALTER TABLE `__new_users` RENAME TO `users`;",
      'ALTER TABLE "oauth_tokens" ALTER COLUMN "scope" SET DATA TYPE jsonb;',
      'ALTER TABLE "users" ALTER COLUMN "name" SET NOT NULL;',
      'ALTER TABLE "users" ADD COLUMN "tenant" text NOT NULL;',
      'DROP INDEX "audit_events_at_idx";',
      'DROP TRIGGER "auth_epoch_users_update" ON "users";',
    ]);
    expect(found.map((line) => line.split(":")[0])).toEqual([
      "drops column",
      "drops table",
      "renames",
      "renames",
      "alters a column (type)",
      "alters a column (set not null)",
      "adds a NOT NULL column without a default",
      "drops index",
      "drops trigger auth_epoch_users_update for good",
    ]);
  });

  test("lets through new tables and nullable or defaulted columns, and a trigger dropped and created again", () => {
    expect(
      contractSteps([
        "CREATE TABLE `t` (`id` text PRIMARY KEY NOT NULL, `n` integer NOT NULL);",
        "ALTER TABLE `users` ADD `kind` text DEFAULT 'person' NOT NULL;",
        'ALTER TABLE "users" ADD COLUMN "name" text;',
        'ALTER TABLE "api_keys" ADD CONSTRAINT "k" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade;',
        "-- DROP TABLE in a comment is no drop\nDROP TRIGGER `auth_epoch_users_update`;",
        "CREATE TRIGGER `auth_epoch_users_update` AFTER UPDATE OF email ON users BEGIN SELECT 1; END;",
      ]),
    ).toEqual([]);
  });
});
