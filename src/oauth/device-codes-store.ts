import { and, eq, lte } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import type { oauthDeviceCodes } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";

export type DeviceCode = typeof oauthDeviceCodes.$inferSelect;

export function* insertDeviceCode(tx: Store, row: DeviceCode): Steps<void> {
  yield* q(tx.insert(tx.tables.oauthDeviceCodes).values(row));
}

/** The device code with this id, or null, as a transaction body's step. */
export function* deviceCodeById(tx: Store, id: string): Steps<DeviceCode | null> {
  const { oauthDeviceCodes } = tx.tables;
  return first(yield* q(tx.select().from(oauthDeviceCodes).where(eq(oauthDeviceCodes.id, id)).limit(1)));
}

/** The device code whose user code hashes to this, or null, as a transaction body's step. */
export function* deviceCodeByUserCode(tx: Store, userCodeHash: string): Steps<DeviceCode | null> {
  const { oauthDeviceCodes } = tx.tables;
  return first(
    yield* q(tx.select().from(oauthDeviceCodes).where(eq(oauthDeviceCodes.userCodeHash, userCodeHash)).limit(1)),
  );
}

/** The same, read outside a transaction (the page that looks a typed code up). */
export async function findDeviceCodeByUserCode(db: Store, userCodeHash: string): Promise<DeviceCode | null> {
  const { oauthDeviceCodes } = db.tables;
  return first(
    await db.select().from(oauthDeviceCodes).where(eq(oauthDeviceCodes.userCodeHash, userCodeHash)).limit(1),
  );
}

/** Records a poll, and the interval the client must keep from now on. */
export function* recordPoll(tx: Store, id: string, at: number, interval: number): Steps<void> {
  const { oauthDeviceCodes } = tx.tables;
  yield* q(tx.update(oauthDeviceCodes).set({ lastPolledAt: at, interval }).where(eq(oauthDeviceCodes.id, id)));
}

/** Moves a pending code to approved (with its authorization) or denied; true only for the first answer. */
export function* answerDeviceCode(
  tx: Store,
  id: string,
  answer: { status: "approved"; grantId: string } | { status: "denied" },
): Steps<boolean> {
  const { oauthDeviceCodes } = tx.tables;
  const grantId = answer.status === "approved" ? answer.grantId : null;
  const answered = yield* q(
    tx
      .update(oauthDeviceCodes)
      .set({ status: answer.status, grantId })
      .where(and(eq(oauthDeviceCodes.id, id), eq(oauthDeviceCodes.status, "pending")))
      .returning({ id: oauthDeviceCodes.id }),
  );
  return answered.length === 1;
}

/** Marks an approved code used; true only for the one poll that gets the tokens. */
export function* markDeviceCodeUsed(tx: Store, id: string): Steps<boolean> {
  const { oauthDeviceCodes } = tx.tables;
  const used = yield* q(
    tx
      .update(oauthDeviceCodes)
      .set({ status: "used" })
      .where(and(eq(oauthDeviceCodes.id, id), eq(oauthDeviceCodes.status, "approved")))
      .returning({ id: oauthDeviceCodes.id }),
  );
  return used.length === 1;
}

export function* deleteExpiredDeviceCodes(tx: Store, now: number): Steps<number> {
  const { oauthDeviceCodes } = tx.tables;
  const deleted = yield* q(
    tx.delete(oauthDeviceCodes).where(lte(oauthDeviceCodes.expiresAt, now)).returning({ id: oauthDeviceCodes.id }),
  );
  return deleted.length;
}
