import type { Store } from "../db/store.ts";
import { transaction } from "../db/transaction.ts";
import { hashSecret, randomString } from "../security/tokens.ts";
import { activeAdminCount, countActiveAdmins } from "./users-store.ts";
import { addSetupToken, setupTokenExists } from "./setup-tokens-store.ts";

// The one-time link that creates the first admin (issue 16: it works on any
// instance). Each server start while no admin exists adds a link of its own
// and logs it; only the link's SHA-256 is stored. Every instance's link works
// on every instance, so instances starting together never invalidate each
// other's, and none depends on another's log (a shared link would leave an
// instance with nothing to log, and an operator with a log that may be gone).
// Creating any admin deletes them all in the same transaction (createUser).

/** A new setup link's secret, its hash stored; null when an active admin exists. */
export function issueSetupToken(db: Store, now: number): Promise<string | null> {
  const token = randomString(20);
  return transaction(db, function* (tx) {
    if ((yield* activeAdminCount(tx)) > 0) return null;
    yield* addSetupToken(tx, hashSecret(token), now);
    return token;
  });
}

/**
 * Whether `token` is a setup link's secret, issued by any instance, while no
 * active admin exists. Looked up by its SHA-256: comparing digests of a
 * 160-bit random secret in the index reveals nothing about the secret.
 */
export async function setupLinkWorks(db: Store, token: string): Promise<boolean> {
  if (token === "") return false;
  return (await setupTokenExists(db, hashSecret(token))) && (await countActiveAdmins(db)) === 0;
}
