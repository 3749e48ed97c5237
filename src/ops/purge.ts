import { deleteExpiredSessions } from "../accounts/sessions-store.ts";
import { purgeOldAuditEvents } from "../audit/recorder.ts";
import { withExclusiveJob } from "../db/operations.ts";
import { postgresClientOf, type Store } from "../db/store.ts";
import type { Logger } from "../log.ts";
import { purgeExpiredOAuth } from "../oauth/purge.ts";
import { sweepEndedRateWindows } from "../security/rate-counters.ts";

/**
 * One round of the periodic purge (every 10 minutes in the server): expired
 * sessions, the OAuth rows that can never be used again, and audit entries
 * past their retention, and on PostgreSQL the rate counters of ended windows. With several instances on one PostgreSQL database
 * one of them runs a round at a time (withExclusiveJob); resolves false when
 * this instance skipped the round because another was running it.
 */
export async function purgeOnce(db: Store, log: Logger, now: number, auditRetentionSeconds: number): Promise<boolean> {
  const ran = await withExclusiveJob(db, "purge", async (db) => {
    const removed = await deleteExpiredSessions(db, now);
    if (removed > 0) log.info("purged expired sessions", { count: removed });
    const oauth = await purgeExpiredOAuth(db, now);
    if (
      oauth.codes +
        oauth.deviceCodes +
        oauth.bridgeEntries +
        oauth.pendingRequests +
        oauth.tokens +
        oauth.registrations >
      0
    ) {
      log.info("purged expired oauth rows", {
        codes: oauth.codes,
        device_codes: oauth.deviceCodes,
        bridge_entries: oauth.bridgeEntries,
        pending_requests: oauth.pendingRequests,
        tokens: oauth.tokens,
        unused_registrations: oauth.registrations,
      });
    }
    const audit = await purgeOldAuditEvents(db, now, auditRetentionSeconds);
    if (audit > 0) log.info("purged old audit entries", { count: audit });
  });
  if (!ran) return false;
  // On the pool, after the job's transaction: that holds a connection, and a
  // pool of one would wait for it forever.
  const rateWindows = await sweepEndedRateWindows(postgresClientOf(db), now);
  if (rateWindows > 0) log.info("purged ended rate limit windows", { count: rateWindows });
  return true;
}
