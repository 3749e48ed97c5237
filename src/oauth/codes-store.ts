import { and, eq, isNull, lte } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { oauthCodes } from "../db/schema.ts";

/** An authorization code (RFC 6749 §4.1.2), a row of oauth_codes. */
export type Code = typeof oauthCodes.$inferSelect;

export function insertCode(db: Db, code: Code): void {
  db.insert(oauthCodes).values(code).run();
}

export function findCode(db: Db, id: string): Code | null {
  return db.select().from(oauthCodes).where(eq(oauthCodes.id, id)).get() ?? null;
}

/** Marks a code used; true only for the first caller (single use under concurrency). */
export function markCodeUsed(db: Db, id: string, at: number): boolean {
  return (
    db
      .update(oauthCodes)
      .set({ usedAt: at })
      .where(and(eq(oauthCodes.id, id), isNull(oauthCodes.usedAt)))
      .returning({ id: oauthCodes.id })
      .all().length === 1
  );
}

export function deleteExpiredCodes(db: Db, now: number): number {
  return db.delete(oauthCodes).where(lte(oauthCodes.expiresAt, now)).returning({ id: oauthCodes.id }).all().length;
}
