import type { Store } from "../db/store.ts";
import { transaction } from "../db/transaction.ts";
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
): Promise<{
  codes: number;
  deviceCodes: number;
  bridgeEntries: number;
  pendingRequests: number;
  tokens: number;
  registrations: number;
}> {
  return transaction(db, function* (tx) {
    const codes = yield* deleteExpiredCodes(tx, now);
    const deviceCodes = yield* deleteExpiredDeviceCodes(tx, now);
    const bridgeEntries = yield* deleteExpiredBridgeEntries(tx, now);
    const pendingRequests = yield* deleteExpiredPendingRequests(tx, now);
    const tokens = yield* deleteExpiredTokens(tx, now);
    const registrations = yield* purgeUnusedRegistrations(tx, now);
    return { codes, deviceCodes, bridgeEntries, pendingRequests, tokens, registrations };
  });
}
