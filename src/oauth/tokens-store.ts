import { and, eq, isNull, lte, sql } from "drizzle-orm";
import { andThen, executeNow, type Maybe } from "../db/execute-now.ts";
import type { Store } from "../db/store.ts";
import { preparedPerDb, setParam } from "../db/prepared.ts";
import type { oauthClients, oauthTokens, users } from "../db/schema.ts";
import { first, q, type Steps } from "../db/transaction.ts";
import type { Authorization } from "./authorizations-store.ts";

export type TokenRow = typeof oauthTokens.$inferSelect;
export type TokenKind = TokenRow["kind"];
type User = typeof users.$inferSelect;

/** A token with everything needed to judge it: its authorization, the authorization's user and client. */
export interface TokenContext {
  token: TokenRow;
  authorization: Authorization;
  user: User;
  client: Pick<typeof oauthClients.$inferSelect, "id" | "name" | "kind" | "tokenEndpointAuthMethod">;
}

// Every grant inserts tokens and every refresh marks one rotated: prepared once (src/db/prepared.ts).
const insertTokenQuery = preparedPerDb((db) => {
  const { oauthTokens } = db.tables;
  return db
    .insert(oauthTokens)
    .values({
      id: sql.placeholder("id"),
      kind: sql.placeholder("kind"),
      secretHash: sql.placeholder("secretHash"),
      grantId: sql.placeholder("grantId"),
      scope: sql.placeholder("scope"),
      createdAt: sql.placeholder("createdAt"),
      expiresAt: sql.placeholder("expiresAt"),
      revokedAt: sql.placeholder("revokedAt"),
      rotatedAt: sql.placeholder("rotatedAt"),
      nextRefreshId: sql.placeholder("nextRefreshId"),
      nextAccessId: sql.placeholder("nextAccessId"),
    })
    .prepare();
});
const markRotatedQuery = preparedPerDb((db) => {
  const { oauthTokens } = db.tables;
  return db
    .update(oauthTokens)
    .set({
      rotatedAt: setParam("at"),
      nextRefreshId: setParam("nextRefreshId"),
      nextAccessId: setParam("nextAccessId"),
    })
    .where(
      and(eq(oauthTokens.id, sql.placeholder("id")), eq(oauthTokens.kind, "refresh"), isNull(oauthTokens.rotatedAt)),
    )
    .returning({ id: oauthTokens.id })
    .prepare();
});

/** Inserts the rows as steps of the caller's transaction (every grant has one), so all or none. */
export function* insertTokens(tx: Store, rows: TokenRow[]): Steps<void> {
  for (const row of rows) yield* q(insertTokenQuery(tx), row);
}

/** The token with this id, or null, as a transaction body's step. */
export function* tokenById(tx: Store, id: string): Steps<TokenRow | null> {
  const { oauthTokens } = tx.tables;
  return first(yield* q(tx.select().from(oauthTokens).where(eq(oauthTokens.id, id)).limit(1)));
}

const tokenContextQuery = preparedPerDb((db) => {
  const { oauthTokens, oauthGrants, users, oauthClients } = db.tables;
  return db
    .select({
      token: oauthTokens,
      authorization: oauthGrants,
      user: users,
      client: {
        id: oauthClients.id,
        name: oauthClients.name,
        kind: oauthClients.kind,
        tokenEndpointAuthMethod: oauthClients.tokenEndpointAuthMethod,
      },
    })
    .from(oauthTokens)
    .innerJoin(oauthGrants, eq(oauthGrants.id, oauthTokens.grantId))
    .innerJoin(users, eq(users.id, oauthGrants.userId))
    .innerJoin(oauthClients, eq(oauthClients.id, oauthGrants.clientId))
    .where(and(eq(oauthTokens.id, sql.placeholder("id")), eq(oauthTokens.kind, sql.placeholder("kind"))))
    .prepare();
});

/** Runs on every /mcp request with an access token: prepared once (src/db/prepared.ts), at once on SQLite. */
export function findTokenContext(db: Store, id: string, kind: TokenKind): Maybe<TokenContext | null> {
  return andThen(executeNow(tokenContextQuery(db), { id, kind }), first);
}

/** The token with this id and kind and its context, or null, as a transaction body's step. */
export function* tokenContextById(tx: Store, id: string, kind: TokenKind): Steps<TokenContext | null> {
  return first(yield* q(tokenContextQuery(tx), { id, kind }));
}

/** Records a refresh token's rotation; true only for the first caller (one successor pair). */
export function* markRefreshRotated(
  tx: Store,
  id: string,
  at: number,
  next: { refreshId: string; accessId: string },
): Steps<boolean> {
  const params = { id, at, nextRefreshId: next.refreshId, nextAccessId: next.accessId };
  return (yield* q(markRotatedQuery(tx), params)).length === 1;
}

export function* markTokenRevoked(tx: Store, id: string, at: number): Steps<void> {
  const { oauthTokens } = tx.tables;
  yield* q(
    tx
      .update(oauthTokens)
      .set({ revokedAt: at })
      .where(and(eq(oauthTokens.id, id), isNull(oauthTokens.revokedAt))),
  );
}

/** Tokens past their expiry, access or refresh, rotated or not: none of them can be used again. */
export function* deleteExpiredTokens(tx: Store, now: number): Steps<number> {
  const { oauthTokens } = tx.tables;
  const deleted = yield* q(
    tx.delete(oauthTokens).where(lte(oauthTokens.expiresAt, now)).returning({ id: oauthTokens.id }),
  );
  return deleted.length;
}
