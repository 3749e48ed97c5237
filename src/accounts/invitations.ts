import type { Store } from "../db/store.ts";
import { transaction, type Steps } from "../db/transaction.ts";
import { newCredential, parseCredential, secretMatches } from "../security/tokens.ts";
import {
  findInvitationById,
  insertInvitation,
  markInvitationUsed,
  revokeExpiredInvitationsOf,
  type Invitation,
} from "./invitations-store.ts";
import { userByEmail, type User } from "./users-store.ts";
import type { PasswordHashCost } from "./password-cost.ts";
import { AccountError, createUser, normalizeEmail } from "./users.ts";

// An admin invites someone by a single-use, expiring link
// `<public url>/invite/gate_inv_<id>_<secret>`; only a SHA-256 of the secret
// is stored, so the link is shown once. Accepting it creates the account.

export const invitationPrefix = "gate_inv_";
export const invitationTtlSeconds = 7 * 86400;

/** Thrown when a link is used, expired, revoked or unknown; which one is never said. */
export class InvitationUnusable extends Error {
  constructor() {
    super("This invitation link is not valid.");
  }
}

export function invitationUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/invite/${token}`;
}

export async function createInvitation(
  db: Store,
  input: { email: string; isAdmin: boolean; createdBy: string | null; now: number; expiresInSeconds?: number },
): Promise<{ invitation: Invitation; token: string }> {
  const email = normalizeEmail(input.email);
  if (email === null) throw new AccountError(`"${input.email}" is not a valid email address.`);
  const { id, token, secretHash } = newCredential(invitationPrefix);
  const invitation: Invitation = {
    id,
    secretHash,
    email,
    isAdmin: input.isAdmin,
    createdBy: input.createdBy,
    createdAt: input.now,
    expiresAt: input.now + (input.expiresInSeconds ?? invitationTtlSeconds),
    usedAt: null,
    userId: null,
    revokedAt: null,
  };
  await transaction(db, function* (tx) {
    // In the transaction: an account made for this email meanwhile (an invitation accepted) is seen.
    if (yield* userByEmail(tx, email)) throw new AccountError(`${email} already has an account.`);
    // "Invite again" on an expired invitation: the new one takes its place in the list.
    yield* revokeExpiredInvitationsOf(tx, email, input.now);
    yield* insertInvitation(tx, invitation);
  });
  return { invitation, token };
}

/** The pending invitation behind a link, or null when it is used, expired, revoked or unknown. */
export async function usableInvitation(db: Store, token: string, now: number): Promise<Invitation | null> {
  const parsed = parseCredential(invitationPrefix, token);
  if (!parsed) return null;
  const invitation = await findInvitationById(db, parsed.id);
  if (!invitation || !secretMatches(parsed.secret, invitation.secretHash)) return null;
  if (invitation.usedAt !== null || invitation.revokedAt !== null || invitation.expiresAt <= now) return null;
  return invitation;
}

/**
 * Accepts an invitation: creates its account and marks the link used, in one
 * transaction, so a link makes one account however many times it is posted.
 * `password` is null for a sign-in provider, which proves the email itself.
 * Throws InvitationUnusable, or AccountError for a bad password.
 */
export async function acceptInvitation(
  db: Store,
  input: {
    token: string;
    password: string | null;
    passwordCost?: PasswordHashCost;
    now: number;
    alsoInTransaction?: (tx: Store, user: User) => Steps<void>;
  },
): Promise<{ user: User; invitation: Invitation }> {
  const invitation = await usableInvitation(db, input.token, input.now);
  if (!invitation) throw new InvitationUnusable();
  return claimInvitation(db, invitation, input);
}

/**
 * Accepts a pending invitation already found (by its link, or by the email a
 * sign-in provider verified); `alsoInTransaction` runs with the new account
 * in the same transaction (linking the provider's identity).
 */
export async function claimInvitation(
  db: Store,
  invitation: Invitation,
  input: {
    password: string | null;
    passwordCost?: PasswordHashCost;
    now: number;
    alsoInTransaction?: (tx: Store, user: User) => Steps<void>;
  },
): Promise<{ user: User; invitation: Invitation }> {
  const user = await createUser(db, {
    email: invitation.email,
    password: input.password,
    passwordCost: input.passwordCost,
    isAdmin: invitation.isAdmin,
    now: input.now,
    alsoInTransaction: function* (tx, created) {
      // In the transaction: of two posts of one link, the second finds it used and makes no account.
      if (!(yield* markInvitationUsed(tx, invitation.id, created.id, input.now))) throw new InvitationUnusable();
      if (input.alsoInTransaction) yield* input.alsoInTransaction(tx, created);
    },
  });
  return { user, invitation };
}
