import type { Store } from "../db/store.ts";
import { transaction, type Steps } from "../db/transaction.ts";
import { randomString } from "../security/tokens.ts";
import { fallbackClientName, type ClientRegistration } from "./client-metadata.ts";
import { newClientSecret } from "./client-secrets.ts";
import {
  addClient,
  changeClient,
  clientByFingerprint,
  clientById,
  deleteUnusedRegistrations,
  type ClientKind,
  type OAuthClient,
  type TokenEndpointAuthMethod,
} from "./clients-store.ts";

// Creating clients: by Dynamic Client Registration (RFC 7591) and by an
// admin. Plain functions of values; the routes own HTTP.

export const clientIdPrefix = "gate_client_";
/** A dynamically registered client that nobody used within this long is deleted. */
export const unusedRegistrationTtlSeconds = 24 * 3600;

export interface NewClient {
  client: OAuthClient;
  /** The secret of a confidential client: shown once, never stored. */
  secret: string | null;
}

function newClient(input: {
  kind: ClientKind;
  name: string;
  redirectUris: string[];
  method: TokenEndpointAuthMethod;
  clientUri: string | null;
  fingerprint: string | null;
  ownerUserId?: string | null;
  now: number;
}): NewClient {
  const secret = input.method === "none" ? null : newClientSecret();
  return {
    secret: secret?.secret ?? null,
    client: {
      id: `${clientIdPrefix}${randomString(10)}`,
      kind: input.kind,
      name: input.name,
      redirectUris: input.redirectUris,
      tokenEndpointAuthMethod: input.method,
      secretHash: secret?.secretHash ?? null,
      clientUri: input.clientUri,
      fingerprint: input.fingerprint,
      metadataExpiresAt: null,
      metadataFetchedAt: null,
      createdAt: input.now,
      lastUsedAt: null,
      ownerUserId: input.ownerUserId ?? null,
    },
  };
}

/** SHA-256 of the normalized registration: what makes two public registrations "the same client". */
export function registrationFingerprint(reg: ClientRegistration, name: string): string {
  const normalized = [
    name,
    [...reg.redirectUris].sort(),
    reg.tokenEndpointAuthMethod,
    [...reg.grantTypes].sort(),
    reg.clientUri,
  ];
  return new Bun.CryptoHasher("sha256").update(JSON.stringify(normalized)).digest("hex");
}

/**
 * Registers a client from a validated RFC 7591 request. A public client
 * identical to an earlier public registration gets that client back
 * (clients that register on every connect would otherwise pile up rows);
 * a confidential client always gets a new row and a new secret. The
 * lookup and the insert are one transaction, so identical registrations
 * arriving together make one client, not one each.
 */
export function registerDynamicClient(
  db: Store,
  reg: ClientRegistration,
  now: number,
): Promise<NewClient & { reused: boolean }> {
  const name = reg.clientName || fallbackClientName(reg.redirectUris);
  const base = {
    kind: "dcr" as const,
    name,
    redirectUris: reg.redirectUris,
    method: reg.tokenEndpointAuthMethod,
    clientUri: reg.clientUri,
    now,
  };
  const fingerprint = reg.tokenEndpointAuthMethod === "none" ? registrationFingerprint(reg, name) : null;
  return transaction(db, function* (tx) {
    const existing = fingerprint === null ? null : yield* clientByFingerprint(tx, fingerprint);
    if (existing && existing.kind === "dcr" && existing.tokenEndpointAuthMethod === "none") {
      return { client: existing, secret: null, reused: true };
    }
    const created = newClient({ ...base, fingerprint });
    yield* addClient(tx, created.client);
    return { ...created, reused: false };
  });
}

/** RFC 7591 §3.2.1: the registered metadata, with the secret when one was just issued. */
export function registrationResponse(client: OAuthClient, reg: ClientRegistration, secret: string | null) {
  return {
    client_id: client.id,
    client_id_issued_at: client.createdAt,
    ...(secret === null ? {} : { client_secret: secret, client_secret_expires_at: 0 }),
    client_name: client.name,
    redirect_uris: client.redirectUris,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    grant_types: reg.grantTypes,
    response_types: ["code"],
    scope: reg.scope,
    ...(client.clientUri === null ? {} : { client_uri: client.clientUri }),
  };
}

/**
 * A client registered by hand: by an admin on /admin/clients (no owner: the
 * organization's), or by a person on their own clients page (they own it).
 */
export function registerManualClient(
  db: Store,
  input: {
    name: string;
    redirectUris: string[];
    method: TokenEndpointAuthMethod;
    ownerUserId: string | null;
    now: number;
  },
): Promise<NewClient> {
  const created = newClient({ kind: "manual", ...input, clientUri: null, fingerprint: null });
  return transaction(db, function* (tx) {
    yield* addClient(tx, created.client);
    return created;
  });
}

/** A service account's client: confidential, for client_credentials only, with no redirect URI; a transaction body's step. */
export function* registerServiceClient(
  tx: Store,
  input: { name: string; now: number },
): Steps<NewClient & { secret: string }> {
  const created = newClient({
    kind: "service",
    name: input.name,
    redirectUris: [],
    method: "client_secret_basic",
    clientUri: null,
    fingerprint: null,
    now: input.now,
  });
  yield* addClient(tx, created.client);
  return { client: created.client, secret: created.secret! };
}

/**
 * Replaces a registered client's redirect URIs. Its registration
 * fingerprint is cleared: a client re-registering with its old metadata must
 * not be handed this edited client.
 */
export function changeRedirectUris(db: Store, id: string, redirectUris: string[]): Promise<void> {
  return transaction(db, (tx) => changeClient(tx, id, { redirectUris, fingerprint: null }));
}

/**
 * A new secret for a confidential client; the old one stops working at once
 * (tokens already issued run out or are refreshed with the new one). Null
 * for a public client, which has no secret, and when the client's secret is
 * no longer `client.secretHash` (another answer replaced it first): the
 * check is read in the transaction that replaces it, so one secret has at
 * most one successor.
 */
export async function renewClientSecret(db: Store, client: OAuthClient): Promise<string | null> {
  if (client.tokenEndpointAuthMethod === "none") return null;
  const { secret, secretHash } = newClientSecret();
  const renewed = await transaction(db, function* (tx) {
    const current = yield* clientById(tx, client.id);
    if (current === null || current.secretHash === null || current.secretHash !== client.secretHash) return false;
    yield* changeClient(tx, client.id, { secretHash });
    return true;
  });
  return renewed ? secret : null;
}

/**
 * The periodic purge's policy: dynamically registered clients never used
 * within a day of registering are deleted. Returns how many; a step of the
 * purge's transaction.
 */
export function purgeUnusedRegistrations(tx: Store, now: number): Steps<number> {
  return deleteUnusedRegistrations(tx, now - unusedRegistrationTtlSeconds);
}
