import { and, eq, isNull, lte, sql } from "drizzle-orm";
import { inTransaction } from "../db/client.ts";
import { andThen, executeNow, type Maybe } from "../db/execute-now.ts";
import type { Store } from "../db/store.ts";
import { first } from "../db/transaction.ts";
import { preparedPerDb, setParam } from "../db/prepared.ts";
import type { oauthClients, users } from "../db/schema.ts";
import { oauthTokens } from "../db/schema.ts";
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
const insertTokenQuery = preparedPerDb((db) =>
  db
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
    .prepare(),
);
const markRotatedQuery = preparedPerDb((db) =>
  db
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
    .prepare(),
);

/** Inserts the rows, all or none: in the caller's transaction (every grant has one), else in one of their own. */
export function insertTokens(db: Store, rows: TokenRow[]): void {
  const query = insertTokenQuery(db);
  const insert = () => {
    for (const row of rows) query.run(row);
  };
  if (db.$client.inTransaction) insert();
  else inTransaction(db, insert);
}

export function findToken(db: Store, id: string): TokenRow | null {
  return db.select().from(oauthTokens).where(eq(oauthTokens.id, id)).get() ?? null;
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
    .limit(1)
    .prepare();
});

/** Runs on every /mcp request with an access token: prepared once (src/db/prepared.ts), at once on SQLite. */
export function findTokenContext(db: Store, id: string, kind: TokenKind): Maybe<TokenContext | null> {
  return andThen(executeNow(tokenContextQuery(db), { id, kind }), first);
}

/** Records a refresh token's rotation; true only for the first caller (one successor pair). */
export function markRefreshRotated(
  db: Store,
  id: string,
  at: number,
  next: { refreshId: string; accessId: string },
): boolean {
  return markRotatedQuery(db).all({ id, at, nextRefreshId: next.refreshId, nextAccessId: next.accessId }).length === 1;
}

export function markTokenRevoked(db: Store, id: string, at: number): void {
  db.update(oauthTokens)
    .set({ revokedAt: at })
    .where(and(eq(oauthTokens.id, id), isNull(oauthTokens.revokedAt)))
    .run();
}

/** Tokens past their expiry, access or refresh, rotated or not: none of them can be used again. */
export function deleteExpiredTokens(db: Store, now: number): number {
  return db.delete(oauthTokens).where(lte(oauthTokens.expiresAt, now)).returning({ id: oauthTokens.id }).all().length;
}
