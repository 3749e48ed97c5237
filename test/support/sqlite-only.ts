// Test files about SQLite itself (issue 16). The store boundary test
// (test/db/store-boundary.test.ts) lets them use bun:sqlite; the PostgreSQL
// run (scripts/test-postgres.sh, which prints this list by running this file)
// leaves them out. Each with why.

/** May use bun:sqlite and the raw connection; left out on PostgreSQL unless `runsOnPostgres`. */
export const sqliteOwnTests: Record<string, { why: string; runsOnPostgres?: true }> = {
  "test/db/store-boundary.test.ts": { why: "this file: it spells the patterns it looks for", runsOnPostgres: true },
  "test/db/transaction.test.ts": { why: "the SQLite runner, and the hazard it closes, on a bun:sqlite connection" },
  "test/db/migrations.test.ts": { why: "the SQLite migrations, file modes, WAL and PRAGMAs" },
  "test/db/indexes.test.ts": { why: "SQLite's query plans (EXPLAIN QUERY PLAN)" },
  "test/e2e/binary.test.ts": { why: "the binary in an empty directory, on the SQLite file it makes there" },
  "test/cli/server-commands.test.ts": { why: "opens the SQLite file `gatehouse backup` writes (VACUUM INTO)" },
  "test/cli/restore.test.ts": {
    why: "`gatehouse restore`, SQLite's own: makes older, newer, foreign and damaged SQLite files",
  },
  "test/docs/storage.test.ts": { why: "lists tables and columns from sqlite_master and pragma_table_info" },
  "test/audit/recorder.test.ts": { why: "the audit writer thread's own connection, and WAL checkpoint PRAGMAs" },
  "test/mcp/credential-cache.test.ts": { why: "a second bun:sqlite connection stands in for another process" },
};

/** Files that keep to the store contract but test what only SQLite does. */
const sqliteBehaviourTests: Record<string, string> = {
  "test/mcp/bearer-sync.test.ts":
    "the bearer check answering on the same turn of the event loop, which only bun:sqlite can",
};

/** What the PostgreSQL run leaves out. */
export const skippedOnPostgres: string[] = [
  ...Object.entries(sqliteOwnTests)
    .filter(([, file]) => !file.runsOnPostgres)
    .map(([path]) => path),
  ...Object.keys(sqliteBehaviourTests),
];

if (import.meta.main) console.log(skippedOnPostgres.join("\n"));
