import { and, eq, isNull, lte, sql } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { preparedPerDb, setParam } from "../db/prepared.ts";
import { oauthCodes } from "../db/schema.ts";
import { q, type Steps } from "../db/transaction.ts";

/** An authorization code (RFC 6749 §4.1.2), a row of oauth_codes. */
export type Code = typeof oauthCodes.$inferSelect;

export function* insertCode(tx: Store, code: Code): Steps<void> {
  yield* q(tx.insert(oauthCodes).values(code));
}

// The code exchange's statements, prepared once (src/db/prepared.ts).
const codeQuery = preparedPerDb((db) =>
  db
    .select()
    .from(oauthCodes)
    .where(eq(oauthCodes.id, sql.placeholder("id")))
    .prepare(),
);
const markUsedQuery = preparedPerDb((db) =>
  db
    .update(oauthCodes)
    .set({ usedAt: setParam("at") })
    .where(and(eq(oauthCodes.id, sql.placeholder("id")), isNull(oauthCodes.usedAt)))
    .returning({ id: oauthCodes.id })
    .prepare(),
);

export function findCode(db: Store, id: string): Code | null {
  return codeQuery(db).get({ id }) ?? null;
}

/** Marks a code used; true only for the first caller (single use under concurrency). */
export function markCodeUsed(db: Store, id: string, at: number): boolean {
  return markUsedQuery(db).all({ id, at }).length === 1;
}

export function deleteExpiredCodes(db: Store, now: number): number {
  return db.delete(oauthCodes).where(lte(oauthCodes.expiresAt, now)).returning({ id: oauthCodes.id }).all().length;
}
