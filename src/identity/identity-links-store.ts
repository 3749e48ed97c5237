import { and, eq } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import type { identityLinks } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";

export type IdentityLink = typeof identityLinks.$inferSelect;

/** The link of this provider's subject, or null, as a transaction body's step. */
export function* identityLinkOf(tx: Store, provider: string, subject: string): Steps<IdentityLink | null> {
  const { identityLinks } = tx.tables;
  const rows = yield* q(
    tx
      .select()
      .from(identityLinks)
      .where(and(eq(identityLinks.provider, provider), eq(identityLinks.subject, subject)))
      .limit(1),
  );
  return first(rows);
}

export function* insertIdentityLink(tx: Store, link: IdentityLink): Steps<void> {
  yield* q(tx.insert(tx.tables.identityLinks).values(link));
}

/** Records a sign-in through a link: when, and the verified email the provider gave this time. */
export function* touchIdentityLink(
  tx: Store,
  provider: string,
  subject: string,
  email: string,
  now: number,
): Steps<void> {
  const { identityLinks } = tx.tables;
  yield* q(
    tx
      .update(identityLinks)
      .set({ email, lastUsedAt: now })
      .where(and(eq(identityLinks.provider, provider), eq(identityLinks.subject, subject))),
  );
}
