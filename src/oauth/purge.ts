import { inTransaction } from "../db/client.ts";
import type { Store } from "../db/store.ts";
import { runToEnd } from "../db/transaction.ts";
import { deleteExpiredBridgeEntries } from "./bridge-store.ts";
import { deleteExpiredDeviceCodes } from "./device-codes-store.ts";
import { deleteExpiredCodes } from "./codes-store.ts";
import { deleteExpiredPendingRequests } from "./pending-requests-store.ts";
import { purgeUnusedRegistrations } from "./registration.ts";
import { deleteExpiredTokens } from "./tokens-store.ts";

/**
 * Deletes what can never be used again: codes, device codes, bridge entries, pending consent requests
 * and tokens past their expiry. Nothing unexpired is touched, so a rotated
 * refresh token still inside its grace window (always unexpired) stays.
 * Self-registered clients never used within a day go too.
 */
export function purgeExpiredOAuth(
  db: Store,
  now: number,
): {
  codes: number;
  deviceCodes: number;
  bridgeEntries: number;
  pendingRequests: number;
  tokens: number;
  registrations: number;
} {
  return inTransaction(db, () => ({
    codes: runToEnd(deleteExpiredCodes(db, now)),
    deviceCodes: runToEnd(deleteExpiredDeviceCodes(db, now)),
    bridgeEntries: deleteExpiredBridgeEntries(db, now),
    pendingRequests: deleteExpiredPendingRequests(db, now),
    tokens: runToEnd(deleteExpiredTokens(db, now)),
    registrations: purgeUnusedRegistrations(db, now),
  }));
}
