import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { createInvitation } from "../../src/accounts/invitations.ts";
import { createUser } from "../../src/accounts/users.ts";
import type { IdentityProviderConfig } from "../../src/identity/config.ts";
import { matchAccount } from "../../src/identity/account-match.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { nowSeconds } from "../support/clock.ts";

// One person's first sign-in through a provider, twice at once (two tabs, or
// a double click on the provider's page): one account, one link, and both
// sign-ins land in it, whichever way the account is found or made.

const provider = (signup: "open" | "invite"): IdentityProviderConfig => ({
  id: `race-${signup}`,
  type: "oidc",
  name: "Race",
  issuer: "https://op.example",
  clientId: "gatehouse",
  clientSecret: null,
  allowedDomains: [],
  allowedOrgs: [],
  signup,
  githubUrl: "https://github.com",
  githubApiUrl: "https://api.github.com",
});

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => {
  await app.close();
});

async function twiceAtOnce(p: IdentityProviderConfig, subject: string, email: string) {
  const identity = { subject, email, emailVerified: true, orgs: null };
  const outcomes = await Promise.allSettled(
    [0, 1].map(() => matchAccount(app.db, p, identity, { invitationToken: null, now: nowSeconds() })),
  );
  const { identityLinks, users } = app.db.tables;
  const links = await app.db
    .select()
    .from(identityLinks)
    .where(and(eq(identityLinks.provider, p.id), eq(identityLinks.subject, subject)));
  const accounts = await app.db.select().from(users).where(eq(users.email, email));
  return { outcomes, links, accounts };
}

describe("a first sign-in twice at once", () => {
  test("an account found by its email: both sign in to it, one link", async () => {
    await createUser(app.db, { email: "linked@example.com", password: null, isAdmin: false, now: nowSeconds() });
    const { outcomes, links, accounts } = await twiceAtOnce(provider("open"), "s-linked", "linked@example.com");
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(accounts).toHaveLength(1);
    expect(links.map((l) => l.userId)).toEqual([accounts[0]!.id]);
  });

  test("open signup: one account made, both sign in to it, one link", async () => {
    const { outcomes, links, accounts } = await twiceAtOnce(provider("open"), "s-open", "open@example.com");
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(accounts).toHaveLength(1);
    expect(links.map((l) => l.userId)).toEqual([accounts[0]!.id]);
  });

  test("a pending invitation: accepted once, both sign in to the account, one link", async () => {
    await createInvitation(app.db, {
      email: "invited@example.com",
      isAdmin: false,
      createdBy: null,
      now: nowSeconds(),
    });
    const { outcomes, links, accounts } = await twiceAtOnce(provider("invite"), "s-invited", "invited@example.com");
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(accounts).toHaveLength(1);
    expect(links.map((l) => l.userId)).toEqual([accounts[0]!.id]);
  });
});
