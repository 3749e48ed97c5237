import { and, eq, isNotNull, isNull, lte } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { oauthBridgeCodes } from "../db/schema.ts";

export type BridgeEntry = typeof oauthBridgeCodes.$inferSelect;

/** Adds an entry; false when its state is already taken (the row is left alone). */
export function insertBridgeEntry(db: Store, entry: BridgeEntry): boolean {
  return (
    db.insert(oauthBridgeCodes).values(entry).onConflictDoNothing().returning({ h: oauthBridgeCodes.stateHash }).all()
      .length === 1
  );
}

export function findBridgeEntry(db: Store, stateHash: string): BridgeEntry | null {
  return db.select().from(oauthBridgeCodes).where(eq(oauthBridgeCodes.stateHash, stateHash)).get() ?? null;
}

/** Records the answer (a code or an error) on a still-unanswered entry; false when it was answered already. */
export function answerBridgeEntry(
  db: Store,
  stateHash: string,
  answer: { code: string | null; error: string | null; expiresAt: number },
): boolean {
  const unanswered = and(
    eq(oauthBridgeCodes.stateHash, stateHash),
    isNull(oauthBridgeCodes.code),
    isNull(oauthBridgeCodes.error),
    isNull(oauthBridgeCodes.deliveredAt),
  );
  return (
    db.update(oauthBridgeCodes).set(answer).where(unanswered).returning({ h: oauthBridgeCodes.stateHash }).all()
      .length === 1
  );
}

export function recordBridgePoll(db: Store, stateHash: string, at: number): void {
  db.update(oauthBridgeCodes).set({ lastPolledAt: at }).where(eq(oauthBridgeCodes.stateHash, stateHash)).run();
}

/** Hands the code out: clears it and marks the entry delivered. True only for the one caller that took it. */
export function takeBridgeCode(db: Store, stateHash: string, at: number): boolean {
  const taken = db
    .update(oauthBridgeCodes)
    .set({ code: null, deliveredAt: at })
    .where(
      and(
        eq(oauthBridgeCodes.stateHash, stateHash),
        isNotNull(oauthBridgeCodes.code),
        isNull(oauthBridgeCodes.deliveredAt),
      ),
    )
    .returning({ h: oauthBridgeCodes.stateHash })
    .all();
  return taken.length === 1;
}

export function deleteExpiredBridgeEntries(db: Store, now: number): number {
  return db
    .delete(oauthBridgeCodes)
    .where(lte(oauthBridgeCodes.expiresAt, now))
    .returning({ h: oauthBridgeCodes.stateHash })
    .all().length;
}
