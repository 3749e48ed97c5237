import { eq } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { first, q, type Steps } from "../db/transaction.ts";

// The first-admin setup links' hashes (schema.ts setupTokens).

export function* addSetupToken(tx: Store, hash: string, now: number): Steps<void> {
  yield* q(tx.insert(tx.tables.setupTokens).values({ hash, createdAt: now }));
}

/** Whether a link with this hash was issued and not yet used up. */
export async function setupTokenExists(db: Store, hash: string): Promise<boolean> {
  const { setupTokens } = db.tables;
  return first(await db.select().from(setupTokens).where(eq(setupTokens.hash, hash)).limit(1)) !== null;
}

export function* deleteSetupTokens(tx: Store): Steps<void> {
  yield* q(tx.delete(tx.tables.setupTokens));
}
