import { and, countDistinct, count, eq, gt, isNull, ne, sql } from "drizzle-orm";
import { andThen, executeNow, type Maybe } from "../db/execute-now.ts";
import type { Store } from "../db/store.ts";
import { preparedPerDb, setParam } from "../db/prepared.ts";
import type { ArgumentLimits } from "../mcp/argument-gates.ts";
import type { oauthGrants } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";

/** An authorization: a person's (or a service account's) approval of one client, a row of oauth_grants. */
export type Authorization = typeof oauthGrants.$inferSelect;

export function* insertAuthorization(tx: Store, authorization: Authorization): Steps<void> {
  yield* q(tx.insert(tx.tables.oauthGrants).values(authorization));
}

export async function updateAuthorizationLimits(db: Store, id: string, limits: ArgumentLimits | null): Promise<void> {
  const { oauthGrants } = db.tables;
  await db.update(oauthGrants).set({ argumentLimits: limits }).where(eq(oauthGrants.id, id));
}

// On the token endpoint's and the bearer check's paths: prepared once (src/db/prepared.ts); by
// primary key, so without `.limit(1)` (see codes-store.ts).
const lastUsedQuery = preparedPerDb((db) => {
  const { oauthGrants } = db.tables;
  return db
    .update(oauthGrants)
    .set({ lastUsedAt: setParam("at") })
    .where(eq(oauthGrants.id, sql.placeholder("id")))
    .prepare();
});
const authorizationQuery = preparedPerDb((db) => {
  const { oauthGrants } = db.tables;
  return db
    .select()
    .from(oauthGrants)
    .where(eq(oauthGrants.id, sql.placeholder("id")))
    .prepare();
});

/** At once on SQLite (the bearer check's fast path, src/db/execute-now.ts). */
export function updateAuthorizationLastUsed(db: Store, id: string, at: number): Maybe<void> {
  return andThen(executeNow(lastUsedQuery(db), { id, at }), () => undefined);
}

/** updateAuthorizationLastUsed as a step of a grant's transaction, so it commits with the tokens. */
export function* markAuthorizationUsed(tx: Store, id: string, at: number): Steps<void> {
  yield* q(lastUsedQuery(tx), { id, at });
}

export async function findAuthorization(db: Store, id: string): Promise<Authorization | null> {
  return first(await authorizationQuery(db).execute({ id }));
}

/** The authorization with this id, or null, as a transaction body's step. */
export function* authorizationById(tx: Store, id: string): Steps<Authorization | null> {
  return first(yield* q(authorizationQuery(tx), { id }));
}

/** Revokes an authorization and every token it issued. */
export function* revokeAuthorizationAndTokens(tx: Store, id: string, at: number): Steps<void> {
  const { oauthGrants, oauthTokens } = tx.tables;
  yield* q(
    tx
      .update(oauthGrants)
      .set({ revokedAt: at })
      .where(and(eq(oauthGrants.id, id), isNull(oauthGrants.revokedAt))),
  );
  yield* q(
    tx
      .update(oauthTokens)
      .set({ revokedAt: at })
      .where(and(eq(oauthTokens.grantId, id), isNull(oauthTokens.revokedAt))),
  );
}

/**
 * The live authorization `id` of `ownerId` (of anyone when null) that is a connection (its
 * client is not a service account's), or null, as a transaction body's step.
 */
export function* liveConnectionAuthorization(
  tx: Store,
  id: string,
  ownerId: string | null,
): Steps<Authorization | null> {
  const { oauthClients, oauthGrants } = tx.tables;
  const live = and(eq(oauthGrants.id, id), isNull(oauthGrants.revokedAt), ne(oauthClients.kind, "service"));
  const rows = yield* q(
    tx
      .select({ authorization: oauthGrants })
      .from(oauthGrants)
      .innerJoin(oauthClients, eq(oauthClients.id, oauthGrants.clientId))
      .where(ownerId === null ? live : and(live, eq(oauthGrants.userId, ownerId)))
      .limit(1),
  );
  return first(rows)?.authorization ?? null;
}

/** Live authorizations of a user (or of everyone when null), with their client's name, newest first; service accounts' are not connections. */
export async function listLiveAuthorizations(db: Store, userId: string | null) {
  const { oauthClients, oauthGrants } = db.tables;
  const live = and(isNull(oauthGrants.revokedAt), ne(oauthClients.kind, "service"));
  const rows = await db
    .select({ authorization: oauthGrants, clientName: oauthClients.name })
    .from(oauthGrants)
    .innerJoin(oauthClients, eq(oauthClients.id, oauthGrants.clientId))
    .where(userId === null ? live : and(live, eq(oauthGrants.userId, userId)));
  return rows.sort((a, b) => b.authorization.createdAt - a.authorization.createdAt);
}

export async function hasLiveAuthorization(db: Store, clientId: string): Promise<boolean> {
  const { oauthGrants } = db.tables;
  const rows = await db
    .select({ id: oauthGrants.id })
    .from(oauthGrants)
    .where(and(eq(oauthGrants.clientId, clientId), isNull(oauthGrants.revokedAt)))
    .limit(1);
  return rows.length === 1;
}

export function* liveAuthorizationIdsOfApiKey(tx: Store, apiKeyId: string): Steps<string[]> {
  const { oauthGrants } = tx.tables;
  const rows = yield* q(
    tx
      .select({ id: oauthGrants.id })
      .from(oauthGrants)
      .where(and(eq(oauthGrants.apiKeyId, apiKeyId), isNull(oauthGrants.revokedAt))),
  );
  return rows.map((r) => r.id);
}

/**
 * What deleting a client ends: how many people hold a live authorization of it, and how many
 * of its tokens still work (not revoked, not yet exchanged, not expired).
 */
export async function liveUseOfClient(
  db: Store,
  clientId: string,
  now: number,
): Promise<{ people: number; tokens: number }> {
  const { oauthGrants, oauthTokens } = db.tables;
  const live = and(eq(oauthGrants.clientId, clientId), isNull(oauthGrants.revokedAt));
  const people =
    first(
      await db
        .select({ n: countDistinct(oauthGrants.userId) })
        .from(oauthGrants)
        .where(live),
    )?.n ?? 0;
  const tokens =
    first(
      await db
        .select({ n: count() })
        .from(oauthTokens)
        .innerJoin(oauthGrants, eq(oauthGrants.id, oauthTokens.grantId))
        .where(and(live, isNull(oauthTokens.revokedAt), isNull(oauthTokens.rotatedAt), gt(oauthTokens.expiresAt, now))),
    )?.n ?? 0;
  return { people, tokens };
}
