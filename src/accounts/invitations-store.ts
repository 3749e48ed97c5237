import { and, asc, desc, eq, gt, isNull, lte } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import type { invitations } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";

export type Invitation = typeof invitations.$inferSelect;
type Invitations = Store["tables"]["invitations"];

export function* insertInvitation(tx: Store, invitation: Invitation): Steps<void> {
  yield* q(tx.insert(tx.tables.invitations).values(invitation));
}

export async function findInvitationById(db: Store, id: string): Promise<Invitation | null> {
  const { invitations } = db.tables;
  return first(await db.select().from(invitations).where(eq(invitations.id, id)).limit(1));
}

/** Neither used nor revoked: pending, or expired without an answer. */
const open = (invitations: Invitations) => and(isNull(invitations.usedAt), isNull(invitations.revokedAt));
const pending = (invitations: Invitations, now: number) => and(open(invitations), gt(invitations.expiresAt, now));

/**
 * Invitations neither used nor revoked, oldest first: those that expired are
 * listed too (as expired), until removed or replaced by a new invitation.
 */
export function listOpenInvitations(db: Store): Promise<Invitation[]> {
  const { invitations } = db.tables;
  return Promise.resolve(
    db.select().from(invitations).where(open(invitations)).orderBy(asc(invitations.createdAt), asc(invitations.email)),
  );
}

/** Marks the expired, unanswered invitations of this (lowercased) email revoked: a new one replaces them. */
export function* revokeExpiredInvitationsOf(tx: Store, email: string, now: number): Steps<void> {
  const { invitations } = tx.tables;
  yield* q(
    tx
      .update(invitations)
      .set({ revokedAt: now })
      .where(and(eq(invitations.email, email), open(invitations), lte(invitations.expiresAt, now))),
  );
}

/** The newest pending invitation for this (lowercased) email, or null. */
export async function findPendingInvitationByEmail(db: Store, email: string, now: number): Promise<Invitation | null> {
  const { invitations } = db.tables;
  return first(
    await db
      .select()
      .from(invitations)
      .where(and(eq(invitations.email, email), pending(invitations, now)))
      .orderBy(desc(invitations.createdAt))
      .limit(1),
  );
}

/** Marks a pending invitation used by this account; false when it was no longer pending. */
export function* markInvitationUsed(tx: Store, id: string, userId: string, now: number): Steps<boolean> {
  const { invitations } = tx.tables;
  const rows = yield* q(
    tx
      .update(invitations)
      .set({ usedAt: now, userId })
      .where(and(eq(invitations.id, id), pending(invitations, now)))
      .returning({ id: invitations.id }),
  );
  return rows.length === 1;
}

/** Revokes an invitation neither used nor revoked (pending or expired: removing it from the list); null when there is none. */
export async function markInvitationRevoked(db: Store, id: string, now: number): Promise<Invitation | null> {
  const { invitations } = db.tables;
  return first(
    await db
      .update(invitations)
      .set({ revokedAt: now })
      .where(and(eq(invitations.id, id), open(invitations)))
      .returning(),
  );
}

/** An invitation neither used nor revoked, expired or not; null when there is none. */
export async function findOpenInvitation(db: Store, id: string): Promise<Invitation | null> {
  const { invitations } = db.tables;
  return first(
    await db
      .select()
      .from(invitations)
      .where(and(eq(invitations.id, id), open(invitations)))
      .limit(1),
  );
}
