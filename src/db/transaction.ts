import { isSync } from "./execute-now.ts";
import { preparedInTransaction } from "./prepared.ts";
import { type Store, sqliteOf } from "./store.ts";

// Transactions that cannot interleave (issue 15; docs/architecture.md "The store and its transactions").
//
// On one bun:sqlite connection every request shares the same transaction
// state, so a body that awaited anything inside BEGIN … COMMIT would let
// another request's statements run inside it, and a rollback would then lose
// that request's write. So a transaction body is a generator: it yields its
// queries and gets their rows back, and it cannot await anything else (an
// `async function*` does not type-check as a Body). On SQLite the runner
// drives it synchronously inside BEGIN IMMEDIATE, today's exact semantics;
// on PostgreSQL (issue 16) it drives the same body step by step inside a
// SERIALIZABLE transaction and runs it again on a serialization failure or a
// deadlock, which is safe because a body has no effect outside the database
// (audit entries and logs happen after commit). Serializable is what makes a
// body's read-check-write as safe as under SQLite's one writer: two bodies
// that would interleave badly cannot both commit.

/** A query a body yields: a Drizzle query builder (awaitable, and preparable). */
export interface Query<T> extends PromiseLike<T> {
  prepare(): { execute(): unknown };
}

/** A prepared statement (a builder's `.prepare()`, with `sql.placeholder` parameters). */
export interface Statement<T> {
  execute(params?: Record<string, unknown>): PromiseLike<T>;
}

/** What a body yields: a builder, or a prepared statement with its parameters. */
export type Step = Query<unknown> | { statement: Statement<unknown>; params: Record<string, unknown> | undefined };

/** A transaction body's run: it yields queries and is resumed with each one's result. */
export type Steps<T> = Generator<Step, T, unknown>;

/**
 * Runs one query inside a body: `const rows = yield* q(tx.select().from(t).where(…))`,
 * or a prepared statement: `yield* q(insertTokenQuery(tx), row)`.
 */
export function q<T>(query: Query<T>): Steps<T>;
export function q<T>(statement: Statement<T>, params?: Record<string, unknown>): Steps<T>;
export function* q<T>(query: Query<T> | Statement<T>, params?: Record<string, unknown>): Steps<T> {
  return (yield "prepare" in query ? query : { statement: query, params }) as T;
}

/** The first row or null: with `.limit(1)`, what both dialects share in place of SQLite's `.get()`. */
export function first<T>(rows: readonly T[]): T | null {
  return rows[0] ?? null;
}

/**
 * Runs `body` in one write transaction and resolves with what it returns; a
 * throw rolls everything back and rejects. Bodies compose with `yield*` (one
 * transaction, as nested inTransaction calls share one today).
 */
export function transaction<T>(db: Store, body: (tx: Store) => Steps<T>): Promise<T> {
  if (db.dialectSql.name === "postgres") return runSerializable(db, body);
  try {
    return Promise.resolve(
      sqliteOf(db)
        .transaction(() => runToEnd(body(db)))
        .immediate(),
    );
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Tries a body this many times in all when PostgreSQL aborts it for a conflict. */
const postgresAttempts = 10;

/** What a PostgreSQL transaction handle offers the runner: Drizzle's transaction with an isolation level. */
interface PostgresHandle {
  transaction<T>(run: (tx: object) => Promise<T>, config: { isolationLevel: "serializable" }): Promise<T>;
}

async function runSerializable<T>(db: Store, body: (tx: Store) => Steps<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (db as unknown as PostgresHandle).transaction(
        async (handle) => {
          const tx = Object.assign(handle, { tables: db.tables, dialectSql: db.dialectSql }) as unknown as Store;
          preparedInTransaction(tx, db, (handle as { session: { client: unknown } }).session.client);
          const steps = body(tx);
          let next = steps.next();
          while (!next.done) next = steps.next(await runLater(next.value));
          return next.value;
        },
        { isolationLevel: "serializable" },
      );
    } catch (error) {
      if (attempt >= postgresAttempts || !isConflict(error)) throw error;
      // Apart, so the transactions that collided do not collide again in step.
      await Bun.sleep(Math.random() * 5 * attempt);
    }
  }
}

/** A step's result on a store that answers later: a builder awaited, or a prepared statement run. */
function runLater(step: Step): PromiseLike<unknown> {
  return "prepare" in step ? step : step.statement.execute(step.params);
}

/**
 * serialization_failure (40001) or deadlock_detected (40P01): the database
 * rolled the transaction back, and running it again is the documented answer
 * (PostgreSQL manual 13.2.3). Drizzle wraps the driver's error as its cause.
 */
export function isConflict(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    const code = (e as { errno?: unknown }).errno;
    if (code === "40001" || code === "40P01") return true;
  }
  return false;
}

/**
 * Drives a body to its end on this turn of the event loop: each query runs
 * synchronously (bun:sqlite), so nothing else can run between two of them.
 */
function runToEnd<T>(steps: Steps<T>): T {
  let next = steps.next();
  while (!next.done) next = steps.next(runNow(next.value));
  return next.value;
}

/** A step's result, now: a SQLite statement executes synchronously (Drizzle's sync mode). */
function runNow(step: Step): unknown {
  const result =
    "prepare" in step ? step.prepare().execute() : "statement" in step ? step.statement.execute(step.params) : null;
  if (!isSync(result)) throw new TypeError("transaction(): a query yielded here must be a bun:sqlite Drizzle query");
  return result.sync();
}
