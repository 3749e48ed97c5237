import { SQL } from "bun";
import { drizzle } from "drizzle-orm/bun-sql";
import { postgresDialectSql } from "./dialect.ts";
import * as schemaPg from "./schema-pg.ts";
import type { Store, Tables } from "./store.ts";

/**
 * A PostgreSQL store (issue 16) through Bun's built-in SQL client: a pool of
 * `poolSize` connections, opened lazily. TLS and the rest come from the URL's
 * own parameters (`?sslmode=require`).
 */
export function openPostgres(url: string, poolSize: number): Store {
  const client = new SQL(url, { max: poolSize, idleTimeout: 60 });
  const db = drizzle({ client, schema: schemaPg });
  // schema-pg.ts's tables stand where schema.ts's do (store.ts says why).
  return Object.assign(db, {
    tables: schemaPg as unknown as Tables,
    dialectSql: postgresDialectSql,
  }) as unknown as Store;
}
