import type { Statement } from "./transaction.ts";

// The /mcp fast path (issue 15): the bearer check, the credential cache's
// epoch read and the last-use touches read and write without an await where
// the store can answer at once. bun:sqlite always can, so on SQLite the whole
// check stays on one turn of the event loop as before; a store that cannot
// (PostgreSQL, issue 16) hands back a promise, and the same code chains it.

/** A value now, or later on a store that can only answer later. */
export type Maybe<T> = T | Promise<T>;

/** A prepared statement's result: at once on SQLite (Drizzle's sync mode), else a promise. */
export function executeNow<T>(statement: Statement<T>, params?: Record<string, unknown>): Maybe<T> {
  const result = statement.execute(params);
  if (isSync<T>(result)) return result.sync();
  return Promise.resolve(result);
}

/** `next(value)`, at once when the value is here, after it when it is a promise. */
export function andThen<T, U>(value: Maybe<T>, next: (value: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** Drizzle's answer from a sync-mode (bun:sqlite) statement: it can be had at once. */
export function isSync<T>(result: unknown): result is { sync(): T } {
  return typeof result === "object" && result !== null && typeof (result as { sync?: unknown }).sync === "function";
}
