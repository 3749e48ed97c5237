import { and, eq, isNotNull, isNull, lte } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import type { oauthBridgeCodes } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";

export type BridgeEntry = typeof oauthBridgeCodes.$inferSelect;

/** Adds an entry; false when its state is already taken (the row is left alone). A transaction body's step. */
export function* insertBridgeEntry(tx: Store, entry: BridgeEntry): Steps<boolean> {
  const { oauthBridgeCodes } = tx.tables;
  const inserted = yield* q(
    tx.insert(oauthBridgeCodes).values(entry).onConflictDoNothing().returning({ h: oauthBridgeCodes.stateHash }),
  );
  return inserted.length === 1;
}

/** The entry of a state's hash, as a transaction body's step. */
export function* bridgeEntryByHash(tx: Store, stateHash: string): Steps<BridgeEntry | null> {
  const { oauthBridgeCodes } = tx.tables;
  return first(yield* q(tx.select().from(oauthBridgeCodes).where(eq(oauthBridgeCodes.stateHash, stateHash)).limit(1)));
}

export async function findBridgeEntry(db: Store, stateHash: string): Promise<BridgeEntry | null> {
  const { oauthBridgeCodes } = db.tables;
  return first(await db.select().from(oauthBridgeCodes).where(eq(oauthBridgeCodes.stateHash, stateHash)).limit(1));
}

/** Records the answer (a code or an error) on a still-unanswered entry; false when it was answered already. */
export function* answerBridgeEntry(
  tx: Store,
  stateHash: string,
  answer: { code: string | null; error: string | null; expiresAt: number },
): Steps<boolean> {
  const { oauthBridgeCodes } = tx.tables;
  const unanswered = and(
    eq(oauthBridgeCodes.stateHash, stateHash),
    isNull(oauthBridgeCodes.code),
    isNull(oauthBridgeCodes.error),
    isNull(oauthBridgeCodes.deliveredAt),
  );
  const answered = yield* q(
    tx.update(oauthBridgeCodes).set(answer).where(unanswered).returning({ h: oauthBridgeCodes.stateHash }),
  );
  return answered.length === 1;
}

export function* recordBridgePoll(tx: Store, stateHash: string, at: number): Steps<void> {
  const { oauthBridgeCodes } = tx.tables;
  yield* q(tx.update(oauthBridgeCodes).set({ lastPolledAt: at }).where(eq(oauthBridgeCodes.stateHash, stateHash)));
}

/** Hands the code out: clears it and marks the entry delivered. True only for the one caller that took it. */
export function* takeBridgeCode(tx: Store, stateHash: string, at: number): Steps<boolean> {
  const { oauthBridgeCodes } = tx.tables;
  const taken = yield* q(
    tx
      .update(oauthBridgeCodes)
      .set({ code: null, deliveredAt: at })
      .where(
        and(
          eq(oauthBridgeCodes.stateHash, stateHash),
          isNotNull(oauthBridgeCodes.code),
          isNull(oauthBridgeCodes.deliveredAt),
        ),
      )
      .returning({ h: oauthBridgeCodes.stateHash }),
  );
  return taken.length === 1;
}

/** A step of the purge's transaction. */
export function* deleteExpiredBridgeEntries(tx: Store, now: number): Steps<number> {
  const { oauthBridgeCodes } = tx.tables;
  const deleted = yield* q(
    tx
      .delete(oauthBridgeCodes)
      .where(lte(oauthBridgeCodes.expiresAt, now))
      .returning({ h: oauthBridgeCodes.stateHash }),
  );
  return deleted.length;
}
