import { eq } from "drizzle-orm";
import type { TokenRow } from "../../src/oauth/tokens-store.ts";
import type { users } from "../../src/db/schema.ts";
import type { Store } from "../../src/db/store.ts";
import { first } from "../../src/db/transaction.ts";

// Rows tests write or read straight, where no store function of the app
// does what they need: a user row with fields no route sets, a token as
// stored.

export async function insertUser(db: Store, user: typeof users.$inferInsert): Promise<void> {
  await db.insert(db.tables.users).values(user);
}

export async function findToken(db: Store, id: string): Promise<TokenRow | null> {
  const { oauthTokens } = db.tables;
  return first(await db.select().from(oauthTokens).where(eq(oauthTokens.id, id)).limit(1));
}
