import { eq, lte } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import type { oauthPendingRequests } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";

/** An authorization request waiting on the consent page for the person's answer, a row of oauth_pending_requests. */
export type PendingRequest = typeof oauthPendingRequests.$inferSelect;

export async function insertPendingRequest(db: Store, pending: PendingRequest): Promise<void> {
  await db.insert(db.tables.oauthPendingRequests).values(pending);
}

export async function findPendingRequest(db: Store, id: string): Promise<PendingRequest | null> {
  const { oauthPendingRequests } = db.tables;
  return first(await db.select().from(oauthPendingRequests).where(eq(oauthPendingRequests.id, id)).limit(1));
}

/**
 * Removes a pending request; true only for the one caller that removed it
 * (single use): one conditional statement, so two answers to one request
 * cannot both take it.
 */
export async function takePendingRequest(db: Store, id: string): Promise<boolean> {
  const { oauthPendingRequests } = db.tables;
  const taken = await db
    .delete(oauthPendingRequests)
    .where(eq(oauthPendingRequests.id, id))
    .returning({ id: oauthPendingRequests.id });
  return taken.length === 1;
}

/** A step of the purge's transaction. */
export function* deleteExpiredPendingRequests(tx: Store, now: number): Steps<number> {
  const { oauthPendingRequests } = tx.tables;
  const deleted = yield* q(
    tx
      .delete(oauthPendingRequests)
      .where(lte(oauthPendingRequests.expiresAt, now))
      .returning({ id: oauthPendingRequests.id }),
  );
  return deleted.length;
}
