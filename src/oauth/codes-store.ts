import { and, eq, isNull, lte, sql } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { preparedPerDb, setParam } from "../db/prepared.ts";
import type { oauthCodes } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";

/** An authorization code (RFC 6749 §4.1.2), a row of oauth_codes. */
export type Code = typeof oauthCodes.$inferSelect;

export function* insertCode(tx: Store, code: Code): Steps<void> {
  yield* q(tx.insert(tx.tables.oauthCodes).values(code));
}

// The code exchange's statements, prepared once (src/db/prepared.ts). The lookups by primary key
// have no `.limit(1)`: in a prepared statement it costs drizzle about 25 µs a run (measured on
// SQLite), and the key allows one row at most.
const codeQuery = preparedPerDb((db) => {
  const { oauthCodes } = db.tables;
  return db
    .select()
    .from(oauthCodes)
    .where(eq(oauthCodes.id, sql.placeholder("id")))
    .prepare();
});
const markUsedQuery = preparedPerDb((db) => {
  const { oauthCodes } = db.tables;
  return db
    .update(oauthCodes)
    .set({ usedAt: setParam("at") })
    .where(and(eq(oauthCodes.id, sql.placeholder("id")), isNull(oauthCodes.usedAt)))
    .returning({ id: oauthCodes.id })
    .prepare();
});

/** The code with this id, or null, as a transaction body's step. */
export function* codeById(tx: Store, id: string): Steps<Code | null> {
  return first(yield* q(codeQuery(tx), { id }));
}

/** Marks a code used; true only for the first caller (single use under concurrency). */
export function* markCodeUsed(tx: Store, id: string, at: number): Steps<boolean> {
  return (yield* q(markUsedQuery(tx), { id, at })).length === 1;
}

export function* deleteExpiredCodes(tx: Store, now: number): Steps<number> {
  const { oauthCodes } = tx.tables;
  const deleted = yield* q(
    tx.delete(oauthCodes).where(lte(oauthCodes.expiresAt, now)).returning({ id: oauthCodes.id }),
  );
  return deleted.length;
}
