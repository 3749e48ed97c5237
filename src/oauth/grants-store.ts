import { and, eq, isNull, lte, ne } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import type { ArgumentLimits } from "../mcp/argument-gates.ts";
import { oauthClients, oauthCodes, oauthGrants, oauthPendingRequests, oauthTokens } from "../db/schema.ts";

export type Grant = typeof oauthGrants.$inferSelect;
export type Code = typeof oauthCodes.$inferSelect;
export type PendingRequest = typeof oauthPendingRequests.$inferSelect;

export function insertPendingRequest(db: Db, pending: PendingRequest): void {
  db.insert(oauthPendingRequests).values(pending).run();
}

export function findPendingRequest(db: Db, id: string): PendingRequest | null {
  return db.select().from(oauthPendingRequests).where(eq(oauthPendingRequests.id, id)).get() ?? null;
}

/** Removes a pending request; true only for the one caller that removed it (single use). */
export function takePendingRequest(db: Db, id: string): boolean {
  return db.delete(oauthPendingRequests).where(eq(oauthPendingRequests.id, id)).returning({ id: oauthPendingRequests.id }).all().length === 1;
}

export function insertGrant(db: Db, grant: Grant): void {
  db.insert(oauthGrants).values(grant).run();
}

export function updateGrantLimits(db: Db, id: string, limits: ArgumentLimits | null): void {
  db.update(oauthGrants).set({ argumentLimits: limits }).where(eq(oauthGrants.id, id)).run();
}

export function findGrant(db: Db, id: string): Grant | null {
  return db.select().from(oauthGrants).where(eq(oauthGrants.id, id)).get() ?? null;
}

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

/** Revokes a grant and every token it issued. */
export function revokeGrantAndTokens(db: Db, grantId: string, at: number): void {
  db.update(oauthGrants).set({ revokedAt: at }).where(and(eq(oauthGrants.id, grantId), isNull(oauthGrants.revokedAt))).run();
  db.update(oauthTokens).set({ revokedAt: at }).where(and(eq(oauthTokens.grantId, grantId), isNull(oauthTokens.revokedAt))).run();
}

/** Live grants of a user (or of everyone when null), with their client's name, newest first; service accounts' grants are not connections. */
export function listLiveGrants(db: Db, userId: string | null) {
  const live = and(isNull(oauthGrants.revokedAt), ne(oauthClients.kind, "service"));
  return db
    .select({ grant: oauthGrants, clientName: oauthClients.name })
    .from(oauthGrants)
    .innerJoin(oauthClients, eq(oauthClients.id, oauthGrants.clientId))
    .where(userId === null ? live : and(live, eq(oauthGrants.userId, userId)))
    .all()
    .sort((a, b) => b.grant.createdAt - a.grant.createdAt);
}

export function hasLiveGrant(db: Db, clientId: string): boolean {
  return db.select({ id: oauthGrants.id }).from(oauthGrants).where(and(eq(oauthGrants.clientId, clientId), isNull(oauthGrants.revokedAt))).limit(1).all().length === 1;
}

export function liveGrantIdsOfApiKey(db: Db, apiKeyId: string): string[] {
  return db
    .select({ id: oauthGrants.id })
    .from(oauthGrants)
    .where(and(eq(oauthGrants.apiKeyId, apiKeyId), isNull(oauthGrants.revokedAt)))
    .all()
    .map((r) => r.id);
}

export function deleteExpiredPendingRequests(db: Db, now: number): number {
  return db.delete(oauthPendingRequests).where(lte(oauthPendingRequests.expiresAt, now)).returning({ id: oauthPendingRequests.id }).all().length;
}

export function deleteExpiredCodes(db: Db, now: number): number {
  return db.delete(oauthCodes).where(lte(oauthCodes.expiresAt, now)).returning({ id: oauthCodes.id }).all().length;
}
