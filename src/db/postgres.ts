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
  const closed = new Set<() => void>();
  const client = new SQL(url, {
    max: poolSize,
    idleTimeout: 60,
    onclose: () => {
      for (const fn of closed) fn();
    },
  });
  closeListeners.set(client, closed);
  const db = drizzle({ client, schema: schemaPg });
  // schema-pg.ts's tables stand where schema.ts's do (store.ts says why).
  return Object.assign(db, {
    tables: schemaPg as unknown as Tables,
    dialectSql: postgresDialectSql,
  }) as unknown as Store;
}

const closeListeners = new WeakMap<SQL, Set<() => void>>();

/**
 * Calls `fn` whenever one of the pool's connections closes, the LISTEN
 * connection included (Bun's client does not say which); returns what stops it.
 */
export function onConnectionClosed(client: SQL, fn: () => void): () => void {
  const set = closeListeners.get(client);
  if (set === undefined) throw new TypeError("not a pool opened by openPostgres");
  set.add(fn);
  return () => set.delete(fn);
}
