import { and, asc, desc, eq, gt, isNull, lte } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { invitations } from "../db/schema.ts";
import { q, type Steps } from "../db/transaction.ts";

export type Invitation = typeof invitations.$inferSelect;

export function* insertInvitation(tx: Store, invitation: Invitation): Steps<void> {
  yield* q(tx.insert(invitations).values(invitation));
}

export function findInvitationById(db: Store, id: string): Invitation | null {
  return db.select().from(invitations).where(eq(invitations.id, id)).get() ?? null;
}

/** Neither used nor revoked: pending, or expired without an answer. */
const open = and(isNull(invitations.usedAt), isNull(invitations.revokedAt));
const pending = (now: number) => and(open, gt(invitations.expiresAt, now));

/**
 * Invitations neither used nor revoked, oldest first: those that expired are
 * listed too (as expired), until removed or replaced by a new invitation.
 */
export function listOpenInvitations(db: Store): Invitation[] {
  return db.select().from(invitations).where(open).orderBy(asc(invitations.createdAt), asc(invitations.email)).all();
}

/** Marks the expired, unanswered invitations of this (lowercased) email revoked: a new one replaces them. */
export function* revokeExpiredInvitationsOf(tx: Store, email: string, now: number): Steps<void> {
  yield* q(
    tx
      .update(invitations)
      .set({ revokedAt: now })
      .where(and(eq(invitations.email, email), open, lte(invitations.expiresAt, now))),
  );
}

/** The newest pending invitation for this (lowercased) email, or null. */
export function findPendingInvitationByEmail(db: Store, email: string, now: number): Invitation | null {
  return (
    db
      .select()
      .from(invitations)
      .where(and(eq(invitations.email, email), pending(now)))
      .orderBy(desc(invitations.createdAt))
      .get() ?? null
  );
}

/** Marks a pending invitation used by this account; false when it was no longer pending. */
export function* markInvitationUsed(tx: Store, id: string, userId: string, now: number): Steps<boolean> {
  const rows = yield* q(
    tx
      .update(invitations)
      .set({ usedAt: now, userId })
      .where(and(eq(invitations.id, id), pending(now)))
      .returning({ id: invitations.id }),
  );
  return rows.length === 1;
}

/** Revokes an invitation neither used nor revoked (pending or expired: removing it from the list); null when there is none. */
export function markInvitationRevoked(db: Store, id: string, now: number): Invitation | null {
  return (
    db
      .update(invitations)
      .set({ revokedAt: now })
      .where(and(eq(invitations.id, id), open))
      .returning()
      .get() ?? null
  );
}

/** An invitation neither used nor revoked, expired or not; null when there is none. */
export function findOpenInvitation(db: Store, id: string): Invitation | null {
  return (
    db
      .select()
      .from(invitations)
      .where(and(eq(invitations.id, id), open))
      .get() ?? null
  );
}
