import { and, eq } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import type { identityLinks } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";

export type IdentityLink = typeof identityLinks.$inferSelect;

export async function findIdentityLink(db: Store, provider: string, subject: string): Promise<IdentityLink | null> {
  const { identityLinks } = db.tables;
  const rows = await db
    .select()
    .from(identityLinks)
    .where(and(eq(identityLinks.provider, provider), eq(identityLinks.subject, subject)))
    .limit(1);
  return first(rows);
}

export function* insertIdentityLink(tx: Store, link: IdentityLink): Steps<void> {
  yield* q(tx.insert(tx.tables.identityLinks).values(link));
}

/** Records a sign-in through a link: when, and the verified email the provider gave this time. */
export async function touchIdentityLink(
  db: Store,
  provider: string,
  subject: string,
  email: string,
  now: number,
): Promise<void> {
  const { identityLinks } = db.tables;
  await db
    .update(identityLinks)
    .set({ email, lastUsedAt: now })
    .where(and(eq(identityLinks.provider, provider), eq(identityLinks.subject, subject)));
}
