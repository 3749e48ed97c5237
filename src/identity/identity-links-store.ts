import { and, eq } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { identityLinks } from "../db/schema.ts";
import { q, type Steps } from "../db/transaction.ts";

export type IdentityLink = typeof identityLinks.$inferSelect;

export function findIdentityLink(db: Store, provider: string, subject: string): IdentityLink | null {
  return (
    db
      .select()
      .from(identityLinks)
      .where(and(eq(identityLinks.provider, provider), eq(identityLinks.subject, subject)))
      .get() ?? null
  );
}

export function* insertIdentityLink(tx: Store, link: IdentityLink): Steps<void> {
  yield* q(tx.insert(identityLinks).values(link));
}

/** Records a sign-in through a link: when, and the verified email the provider gave this time. */
export function touchIdentityLink(db: Store, provider: string, subject: string, email: string, now: number): void {
  db.update(identityLinks)
    .set({ email, lastUsedAt: now })
    .where(and(eq(identityLinks.provider, provider), eq(identityLinks.subject, subject)))
    .run();
}
