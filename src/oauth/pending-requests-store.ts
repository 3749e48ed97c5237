import { eq, lte } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { oauthPendingRequests } from "../db/schema.ts";

/** An authorization request waiting on the consent page for the person's answer, a row of oauth_pending_requests. */
export type PendingRequest = typeof oauthPendingRequests.$inferSelect;

export function insertPendingRequest(db: Store, pending: PendingRequest): void {
  db.insert(oauthPendingRequests).values(pending).run();
}

export function findPendingRequest(db: Store, id: string): PendingRequest | null {
  return db.select().from(oauthPendingRequests).where(eq(oauthPendingRequests.id, id)).get() ?? null;
}

/** Removes a pending request; true only for the one caller that removed it (single use). */
export function takePendingRequest(db: Store, id: string): boolean {
  return (
    db
      .delete(oauthPendingRequests)
      .where(eq(oauthPendingRequests.id, id))
      .returning({ id: oauthPendingRequests.id })
      .all().length === 1
  );
}

export function deleteExpiredPendingRequests(db: Store, now: number): number {
  return db
    .delete(oauthPendingRequests)
    .where(lte(oauthPendingRequests.expiresAt, now))
    .returning({ id: oauthPendingRequests.id })
    .all().length;
}
