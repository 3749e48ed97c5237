import { and, asc, desc, eq, gt, isNull } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { invitations } from "../db/schema.ts";

export type Invitation = typeof invitations.$inferSelect;

export function insertInvitation(db: Db, invitation: Invitation): void {
  db.insert(invitations).values(invitation).run();
}

export function findInvitationById(db: Db, id: string): Invitation | null {
  return db.select().from(invitations).where(eq(invitations.id, id)).get() ?? null;
}

const pending = (now: number) =>
  and(isNull(invitations.usedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now));

/** Invitations not yet used, revoked or expired, oldest first. */
export function listPendingInvitations(db: Db, now: number): Invitation[] {
  return db
    .select()
    .from(invitations)
    .where(pending(now))
    .orderBy(asc(invitations.createdAt), asc(invitations.email))
    .all();
}

/** The newest pending invitation for this (lowercased) email, or null. */
export function findPendingInvitationByEmail(db: Db, email: string, now: number): Invitation | null {
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
export function markInvitationUsed(db: Db, id: string, userId: string, now: number): boolean {
  const rows = db
    .update(invitations)
    .set({ usedAt: now, userId })
    .where(and(eq(invitations.id, id), pending(now)))
    .returning({ id: invitations.id })
    .all();
  return rows.length === 1;
}

/** Revokes a pending invitation; false when it was not pending. */
export function markInvitationRevoked(db: Db, id: string, now: number): Invitation | null {
  return (
    db
      .update(invitations)
      .set({ revokedAt: now })
      .where(and(eq(invitations.id, id), pending(now)))
      .returning()
      .get() ?? null
  );
}

/** An invitation by id while it is still pending (not used, revoked or expired), or null. */
export function findPendingInvitation(db: Db, id: string, now: number): Invitation | null {
  return (
    db
      .select()
      .from(invitations)
      .where(and(eq(invitations.id, id), pending(now)))
      .get() ?? null
  );
}
