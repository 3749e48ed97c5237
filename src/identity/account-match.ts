import { claimInvitation, usableInvitation } from "../accounts/invitations.ts";
import { findPendingInvitationByEmail, type Invitation } from "../accounts/invitations-store.ts";
import { findUserByEmail, findUserById, type User } from "../accounts/users-store.ts";
import { createUser } from "../accounts/users.ts";
import type { Store } from "../db/store.ts";
import { transaction } from "../db/transaction.ts";
import type { IdentityProviderConfig } from "./config.ts";
import { findIdentityLink, insertIdentityLink, touchIdentityLink } from "./identity-links-store.ts";
import type { ProviderIdentity } from "./outbound.ts";
import { SignInRefused } from "./refusals.ts";

// Which Gatehouse account a provider's person signs in to. Policy first (a
// verified email, an allowed domain and organization), then, in order: the
// existing link; a person account with that verified email (linked now); an
// invitation for that email (accepted without a password, linked); an open
// signup (a member account, linked); otherwise refused.

export interface MatchResult {
  user: User;
  /** The link was made by this sign-in. */
  linked: boolean;
  /** The invitation this sign-in accepted, if any. */
  invitation: Invitation | null;
}

/** Why this identity may not sign in through this provider at all, or null. Pure. */
export function policyProblem(
  provider: IdentityProviderConfig,
  identity: ProviderIdentity,
): "unverified_email" | "domain_not_allowed" | "org_not_allowed" | null {
  if (identity.email === null || !identity.emailVerified) return "unverified_email";
  const domain = identity.email.slice(identity.email.lastIndexOf("@") + 1);
  if (provider.allowedDomains.length && !provider.allowedDomains.includes(domain)) return "domain_not_allowed";
  if (provider.allowedOrgs.length && !(identity.orgs ?? []).some((o) => provider.allowedOrgs.includes(o)))
    return "org_not_allowed";
  return null;
}

function usable(user: User | null): User {
  if (user?.kind !== "person") throw new SignInRefused("account_not_allowed");
  if (user.disabledAt !== null) throw new SignInRefused("account_disabled");
  return user;
}

export async function matchAccount(
  db: Store,
  provider: IdentityProviderConfig,
  identity: ProviderIdentity,
  input: { invitationToken: string | null; now: number },
): Promise<MatchResult> {
  const problem = policyProblem(provider, identity);
  if (problem) throw new SignInRefused(problem);
  const email = identity.email!;
  const { now } = input;
  const link = { provider: provider.id, subject: identity.subject, email, createdAt: now, lastUsedAt: now };

  const existing = await findIdentityLink(db, provider.id, identity.subject);
  if (existing) {
    const user = usable(await findUserById(db, existing.userId));
    await touchIdentityLink(db, provider.id, identity.subject, email, now);
    return { user, linked: false, invitation: null };
  }
  const byEmail = await findUserByEmail(db, email);
  if (byEmail) {
    const user = usable(byEmail);
    await transaction(db, (tx) => insertIdentityLink(tx, { ...link, userId: user.id }));
    return { user, linked: true, invitation: null };
  }
  let invitation: Invitation | null = null;
  if (input.invitationToken !== null) {
    invitation = await usableInvitation(db, input.invitationToken, now);
    if (!invitation) throw new SignInRefused("no_invitation");
    if (invitation.email !== email) throw new SignInRefused("invitation_mismatch");
  }
  invitation ??= await findPendingInvitationByEmail(db, email, now);
  const alsoInTransaction = (tx: Store, user: User) => insertIdentityLink(tx, { ...link, userId: user.id });
  if (invitation) {
    const { user } = await claimInvitation(db, invitation, { password: null, now, alsoInTransaction });
    return { user, linked: true, invitation };
  }
  if (provider.signup === "open") {
    const user = await createUser(db, { email, password: null, isAdmin: false, now, alsoInTransaction });
    return { user, linked: true, invitation: null };
  }
  throw new SignInRefused("no_invitation");
}
