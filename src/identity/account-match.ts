import { claimInvitation, usableInvitation } from "../accounts/invitations.ts";
import { findPendingInvitationByEmail, type Invitation } from "../accounts/invitations-store.ts";
import { userByEmail, userById, type User } from "../accounts/users-store.ts";
import { createUser } from "../accounts/users.ts";
import type { Store } from "../db/store.ts";
import { transaction, type Steps } from "../db/transaction.ts";
import type { IdentityProviderConfig } from "./config.ts";
import { identityLinkOf, insertIdentityLink, touchIdentityLink, type IdentityLink } from "./identity-links-store.ts";
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

/** The link this sign-in makes, or records its use in. */
type Link = Omit<IdentityLink, "userId"> & { lastUsedAt: number };

/**
 * The account this identity already reaches, in one transaction: through its
 * link (its last use recorded), or through a person account with its verified
 * email (linked now). Null when neither exists, so an account is to be made.
 */
function* existingAccount(tx: Store, link: Link): Steps<{ user: User; linked: boolean } | null> {
  const existing = yield* identityLinkOf(tx, link.provider, link.subject);
  if (existing) {
    const user = usable(yield* userById(tx, existing.userId));
    yield* touchIdentityLink(tx, link.provider, link.subject, link.email, link.lastUsedAt);
    return { user, linked: false };
  }
  const byEmail = yield* userByEmail(tx, link.email);
  if (!byEmail) return null;
  const user = usable(byEmail);
  yield* insertIdentityLink(tx, { ...link, userId: user.id });
  return { user, linked: true };
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
  const link: Link = { provider: provider.id, subject: identity.subject, email, createdAt: now, lastUsedAt: now };

  const found = await transaction(db, (tx) => existingAccount(tx, link));
  if (found) return { ...found, invitation: null };
  try {
    return await newAccount(db, provider, link, input);
  } catch (error) {
    // The same identity's other sign-in (a second tab) made the account meanwhile: this one uses it.
    const madeMeanwhile = await transaction(db, (tx) => existingAccount(tx, link));
    if (madeMeanwhile) return { ...madeMeanwhile, invitation: null };
    throw error;
  }
}

/** An account for an identity no account has: through its invitation, or an open signup. */
async function newAccount(
  db: Store,
  provider: IdentityProviderConfig,
  link: Link,
  input: { invitationToken: string | null; now: number },
): Promise<MatchResult> {
  const { email } = link;
  const { now } = input;
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
