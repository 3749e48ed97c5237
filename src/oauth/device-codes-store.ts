import { and, eq, lte } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { oauthDeviceCodes } from "../db/schema.ts";

export type DeviceCode = typeof oauthDeviceCodes.$inferSelect;

export function insertDeviceCode(db: Store, row: DeviceCode): void {
  db.insert(oauthDeviceCodes).values(row).run();
}

export function findDeviceCode(db: Store, id: string): DeviceCode | null {
  return db.select().from(oauthDeviceCodes).where(eq(oauthDeviceCodes.id, id)).get() ?? null;
}

export function findDeviceCodeByUserCode(db: Store, userCodeHash: string): DeviceCode | null {
  return db.select().from(oauthDeviceCodes).where(eq(oauthDeviceCodes.userCodeHash, userCodeHash)).get() ?? null;
}

/** Records a poll, and the interval the client must keep from now on. */
export function recordPoll(db: Store, id: string, at: number, interval: number): void {
  db.update(oauthDeviceCodes).set({ lastPolledAt: at, interval }).where(eq(oauthDeviceCodes.id, id)).run();
}

/** Moves a pending code to approved (with its authorization) or denied; true only for the first answer. */
export function answerDeviceCode(
  db: Store,
  id: string,
  answer: { status: "approved"; grantId: string } | { status: "denied" },
): boolean {
  const grantId = answer.status === "approved" ? answer.grantId : null;
  return (
    db
      .update(oauthDeviceCodes)
      .set({ status: answer.status, grantId })
      .where(and(eq(oauthDeviceCodes.id, id), eq(oauthDeviceCodes.status, "pending")))
      .returning({ id: oauthDeviceCodes.id })
      .all().length === 1
  );
}

/** Marks an approved code used; true only for the one poll that gets the tokens. */
export function markDeviceCodeUsed(db: Store, id: string): boolean {
  return (
    db
      .update(oauthDeviceCodes)
      .set({ status: "used" })
      .where(and(eq(oauthDeviceCodes.id, id), eq(oauthDeviceCodes.status, "approved")))
      .returning({ id: oauthDeviceCodes.id })
      .all().length === 1
  );
}

export function deleteExpiredDeviceCodes(db: Store, now: number): number {
  return db
    .delete(oauthDeviceCodes)
    .where(lte(oauthDeviceCodes.expiresAt, now))
    .returning({ id: oauthDeviceCodes.id })
    .all().length;
}
