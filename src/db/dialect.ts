import { type SQL, type SQLWrapper, sql } from "drizzle-orm";

// The SQL that differs between the stores' databases, and nothing else: every
// other query is written once in what SQLite and PostgreSQL share (issue 15;
// docs/architecture.md "The store and its transactions").

export interface DialectSql {
  readonly name: "sqlite" | "postgres";
  /** A JSON column's top-level text field, for comparing: `detail.email`. */
  jsonText(column: SQLWrapper, key: string): SQL;
}

export const sqliteDialectSql: DialectSql = {
  name: "sqlite",
  // The path is a bound parameter: json_extract takes '$.key' as a value.
  jsonText: (column, key) => sql`json_extract(${column}, ${`$.${key}`})`,
};

export const postgresDialectSql: DialectSql = {
  name: "postgres",
  // detail is JSON kept as text (as in SQLite): cast, then ->> with the key bound.
  jsonText: (column, key) => sql`(${column}::jsonb ->> ${key})`,
};
