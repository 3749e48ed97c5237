import type { Store } from "../db/store.ts";
import { transaction } from "../db/transaction.ts";
import { accessScopes, type AccessLevel } from "../keys/api-keys.ts";
import { newClientSecret, secretVersionOf } from "../oauth/client-secrets.ts";
import { changeClient } from "../oauth/clients-store.ts";
import { insertAuthorization } from "../oauth/authorizations-store.ts";
import { registerServiceClient } from "../oauth/registration.ts";
import { randomString } from "../security/tokens.ts";
import { deleteServiceAccountRows, serviceAccountById, type ServiceAccountRow } from "./service-accounts-store.ts";
import { addUser, userByEmail } from "./users-store.ts";
import { AccountError, serviceEmailDomain } from "./users.ts";

// A service account is a named, non-human principal: a users row of kind
// `service` that never signs in, a confidential client (kind `service`) for
// grant_type=client_credentials, and one authorization that fixes what it may do
// (access level and write tools). Its tokens go through the same checks as
// everyone's, so disabling or deleting it stops them on the next request,
// and its calls are in the audit log under its name.

const namePattern = /^[a-z0-9][a-z0-9-]{0,39}$/;

export function serviceAccountEmail(name: string): string {
  return `${name}@${serviceEmailDomain}`;
}

/**
 * Creates the account, its client and its authorization in one transaction. `tools`
 * limits a Full account to those write tools (names already checked against
 * the catalogue); null: every write tool. Returns the client secret, shown once.
 */
export function createServiceAccount(
  db: Store,
  input: { name: string; access: AccessLevel; tools: readonly string[] | null; resource: string; now: number },
): Promise<{ account: ServiceAccountRow; clientSecret: string }> {
  const name = input.name.trim();
  if (!namePattern.test(name))
    throw new AccountError(
      "The name must be 1 to 40 characters of a-z, 0-9 and -, starting with a letter or digit (for example ci-deploy).",
    );
  if (!(input.access in accessScopes)) throw new AccountError("The access level must be read or full.");
  const userId = randomString(10);
  return transaction(db, function* (tx) {
    if (yield* userByEmail(tx, serviceAccountEmail(name)))
      throw new AccountError(`A service account named ${name} already exists.`);
    yield* addUser(tx, {
      id: userId,
      email: serviceAccountEmail(name),
      passwordHash: null,
      isAdmin: false,
      kind: "service",
      name,
      createdAt: input.now,
      disabledAt: null,
    });
    const { client, secret } = yield* registerServiceClient(tx, { name, now: input.now });
    yield* insertAuthorization(tx, {
      id: randomString(10),
      userId,
      clientId: client.id,
      scope: accessScopes[input.access],
      tools: input.access === "full" ? (input.tools ? [...input.tools] : null) : [],
      // A service account's limits come from [[policy]] (group "services"), not from its authorization.
      argumentLimits: null,
      resource: input.resource,
      apiKeyId: null,
      createdAt: input.now,
      lastUsedAt: null,
      revokedAt: null,
    });
    return { account: (yield* serviceAccountById(tx, userId))!, clientSecret: secret };
  });
}

/**
 * A new client secret; the old one stops working at once (tokens already issued run out).
 * `replacing`: the secretVersionOf the secret the admin saw being replaced; when it is no longer
 * the current one (the same form sent twice), "changed" and nothing is replaced.
 */
export function newServiceAccountSecret(
  db: Store,
  userId: string,
  replacing?: string,
): Promise<{ account: ServiceAccountRow; clientSecret: string } | "changed" | null> {
  return transaction(db, function* (tx) {
    const account = yield* serviceAccountById(tx, userId);
    if (!account) return null;
    // In the transaction: of the same form sent twice at once, the second sees the first's secret and replaces nothing.
    if (replacing !== undefined && replacing !== secretVersionOf(account.client.secretHash ?? "")) return "changed";
    const { secret, secretHash } = newClientSecret();
    yield* changeClient(tx, account.client.id, { secretHash });
    return { account, clientSecret: secret };
  });
}

/** Deletes the account, its client, authorization and tokens; false when there was none. */
export function deleteServiceAccount(db: Store, userId: string): Promise<ServiceAccountRow | null> {
  return transaction(db, function* (tx) {
    const account = yield* serviceAccountById(tx, userId);
    if (!account) return null;
    yield* deleteServiceAccountRows(tx, account.user.id, account.client.id);
    return account;
  });
}

/** When it last did anything: its last token or its last call (authorizations.last_used_at, kept to the minute). */
export function lastUseOf(account: ServiceAccountRow): number | null {
  const times = [account.client.lastUsedAt, account.authorization.lastUsedAt].filter((t): t is number => t !== null);
  return times.length === 0 ? null : Math.max(...times);
}
