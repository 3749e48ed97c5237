import type { AuditLog } from "../audit/entry.ts";
import { andThen, type Maybe } from "../db/execute-now.ts";
import type { Store } from "../db/store.ts";
import { transaction, type Steps } from "../db/transaction.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import {
  encodeBase32,
  hashSecret,
  newCredential,
  parseCredential,
  randomString,
  secretMatches,
} from "../security/tokens.ts";
import { isConfidential } from "./client-auth.ts";
import { markClientUsed } from "./clients-store.ts";
import { InvalidClient } from "./errors.ts";
import {
  markAuthorizationUsed,
  revokeAuthorizationAndTokens,
  updateAuthorizationLastUsed,
} from "./authorizations-store.ts";
import {
  findTokenContext,
  insertTokens,
  markRefreshRotated,
  markTokenRevoked,
  tokenById,
  tokenContextById,
  type TokenContext,
  type TokenKind,
  type TokenRow,
} from "./tokens-store.ts";

// Access and refresh tokens are opaque credentials `<prefix><id>_<secret>`
// (256-bit secret, only its SHA-256 stored). Secret scanners can match
// `gate_(at|rt)_[a-z2-7]{16}_[a-z2-7]{52}`.
export const accessTokenPrefix = "gate_at_";
export const refreshTokenPrefix = "gate_rt_";

const prefixOf: Record<TokenKind, string> = { access: accessTokenPrefix, refresh: refreshTokenPrefix };
const idBytes = 10;
// oauth_grants.last_used_at is rewritten at most this often, so checking a token is a read.
const lastUsedResolutionSeconds = 60;

/** What a grant handler needs: the request's moment, settings, storage and log. */
export interface GrantDeps {
  db: Store;
  log: Logger;
  config: Pick<Config, "publicUrl" | "accessTokenTtlSeconds" | "refreshTokenTtlSeconds" | "refreshGraceSeconds">;
  /** Unix seconds, fixed for the whole request. */
  now: number;
  /** The audit log, with the request's id and client address. */
  audit: AuditLog;
}

export interface TokenLifetimes {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

export interface TokenPair {
  accessToken: string;
  /** Absent for client_credentials (RFC 6749 §4.4.3: no refresh token). */
  refreshToken?: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** The access token's scope. */
  scope: string;
}

/** RFC 6749 §5.1. */
export function tokenResponseBody(pair: TokenPair) {
  return {
    access_token: pair.accessToken,
    token_type: "Bearer",
    expires_in: pair.expiresIn,
    ...(pair.refreshToken === undefined ? {} : { refresh_token: pair.refreshToken }),
    scope: pair.scope,
  };
}

/**
 * A rotated refresh token's successors are derived from its own secret, so
 * within the grace window the very same pair can be handed out again without
 * storing any secret: HMAC-SHA256 keyed with the parent secret, one label per kind.
 */
function successorSecret(parentSecret: string, kind: TokenKind): string {
  return encodeBase32(new Bun.CryptoHasher("sha256", parentSecret).update(kind).digest());
}

const format = (kind: TokenKind, id: string, secret: string) => `${prefixOf[kind]}${id}_${secret}`;

function tokenRow(
  kind: TokenKind,
  fields: { id: string; secretHash: string; grantId: string; scope: string; now: number; ttlSeconds: number },
): TokenRow {
  return {
    id: fields.id,
    kind,
    secretHash: fields.secretHash,
    grantId: fields.grantId,
    scope: fields.scope,
    createdAt: fields.now,
    expiresAt: fields.now + fields.ttlSeconds,
    revokedAt: null,
    rotatedAt: null,
    nextRefreshId: null,
    nextAccessId: null,
  };
}

/**
 * The first pair of an authorization (RFC 6749 §4.1.4): both random. The refresh token carries the authorization's scope.
 * A step of the grant's transaction.
 */
export function* issueTokenPair(
  tx: Store,
  input: { grantId: string; grantScope: string; accessScope: string; now: number; lifetimes: TokenLifetimes },
): Steps<TokenPair> {
  const access = newCredential(accessTokenPrefix);
  const refresh = newCredential(refreshTokenPrefix);
  const { grantId, now, lifetimes } = input;
  yield* insertTokens(tx, [
    tokenRow("access", {
      id: access.id,
      secretHash: access.secretHash,
      grantId,
      scope: input.accessScope,
      now,
      ttlSeconds: lifetimes.accessTokenTtlSeconds,
    }),
    tokenRow("refresh", {
      id: refresh.id,
      secretHash: refresh.secretHash,
      grantId,
      scope: input.grantScope,
      now,
      ttlSeconds: lifetimes.refreshTokenTtlSeconds,
    }),
  ]);
  return {
    accessToken: access.token,
    refreshToken: refresh.token,
    expiresIn: lifetimes.accessTokenTtlSeconds,
    scope: input.accessScope,
  };
}

/** An access token alone (client_credentials), as a transaction body's step. */
export function* issueAccessToken(
  tx: Store,
  input: { grantId: string; scope: string; now: number; ttlSeconds: number },
): Steps<TokenPair> {
  const access = newCredential(accessTokenPrefix);
  yield* insertTokens(tx, [
    tokenRow("access", {
      id: access.id,
      secretHash: access.secretHash,
      grantId: input.grantId,
      scope: input.scope,
      now: input.now,
      ttlSeconds: input.ttlSeconds,
    }),
  ]);
  return { accessToken: access.token, expiresIn: input.ttlSeconds, scope: input.scope };
}

/**
 * Exchanges a refresh token for its successor pair (RFC 6749 §6, OAuth 2.1
 * §4.3.1 rotation). Null when it was rotated already (a concurrent caller won).
 */
export function* rotateRefreshToken(
  tx: Store,
  input: { parent: TokenRow; parentSecret: string; accessScope: string; now: number; lifetimes: TokenLifetimes },
): Steps<TokenPair | null> {
  const { parent, now, lifetimes } = input;
  const next = { refreshId: randomString(idBytes), accessId: randomString(idBytes) };
  if (!(yield* markRefreshRotated(tx, parent.id, now, next))) return null;
  const refreshSecret = successorSecret(input.parentSecret, "refresh");
  const accessSecret = successorSecret(input.parentSecret, "access");
  const grantId = parent.grantId;
  yield* insertTokens(tx, [
    tokenRow("access", {
      id: next.accessId,
      secretHash: hashSecret(accessSecret),
      grantId,
      scope: input.accessScope,
      now,
      ttlSeconds: lifetimes.accessTokenTtlSeconds,
    }),
    tokenRow("refresh", {
      id: next.refreshId,
      secretHash: hashSecret(refreshSecret),
      grantId,
      scope: parent.scope,
      now,
      ttlSeconds: lifetimes.refreshTokenTtlSeconds,
    }),
  ]);
  return {
    accessToken: format("access", next.accessId, accessSecret),
    refreshToken: format("refresh", next.refreshId, refreshSecret),
    expiresIn: lifetimes.accessTokenTtlSeconds,
    scope: input.accessScope,
  };
}

/**
 * The pair a rotated refresh token was already exchanged for, derived again
 * from its secret; null unless that pair is still untouched (the successor
 * refresh token neither rotated nor revoked, the access token live).
 */
export function* reissueSuccessorPair(
  tx: Store,
  input: { parent: TokenRow; parentSecret: string; now: number },
): Steps<TokenPair | null> {
  const { parent, now } = input;
  if (parent.nextRefreshId === null || parent.nextAccessId === null) return null;
  const refresh = yield* tokenById(tx, parent.nextRefreshId);
  const access = yield* tokenById(tx, parent.nextAccessId);
  if (!refresh || refresh.revokedAt !== null || refresh.rotatedAt !== null || refresh.expiresAt <= now) return null;
  if (!access || access.revokedAt !== null || access.expiresAt <= now) return null;
  const refreshSecret = successorSecret(input.parentSecret, "refresh");
  const accessSecret = successorSecret(input.parentSecret, "access");
  if (!secretMatches(refreshSecret, refresh.secretHash) || !secretMatches(accessSecret, access.secretHash)) return null;
  return {
    accessToken: format("access", access.id, accessSecret),
    refreshToken: format("refresh", refresh.id, refreshSecret),
    expiresIn: access.expiresAt - now,
    scope: access.scope,
  };
}

export interface PresentedToken {
  context: TokenContext;
  secret: string;
}

/** A presented token's kind (from its prefix unless given), id and secret; null when it is no token of ours. */
function parsePresented(token: string, kind?: TokenKind): { kind: TokenKind; id: string; secret: string } | null {
  const found =
    kind ?? (token.startsWith(accessTokenPrefix) ? "access" : token.startsWith(refreshTokenPrefix) ? "refresh" : null);
  if (found === null) return null;
  const parsed = parseCredential(prefixOf[found], token);
  return parsed ? { kind: found, ...parsed } : null;
}

/** The context, when its stored secret is the presented one. */
function matching(context: TokenContext | null, secret: string): PresentedToken | null {
  return context && secretMatches(secret, context.token.secretHash) ? { context, secret } : null;
}

/** The stored token behind a presented access or refresh token whose secret matches, live or not; else null. */
export function findPresentedToken(db: Store, token: string, kind?: TokenKind): Maybe<PresentedToken | null> {
  const parsed = parsePresented(token, kind);
  return parsed
    ? andThen(findTokenContext(db, parsed.id, parsed.kind), (found) => matching(found, parsed.secret))
    : null;
}

/** findPresentedToken as a transaction body's step: what a write then depends on is read in its transaction. */
export function* presentedToken(tx: Store, token: string, kind?: TokenKind): Steps<PresentedToken | null> {
  const parsed = parsePresented(token, kind);
  return parsed ? matching(yield* tokenContextById(tx, parsed.id, parsed.kind), parsed.secret) : null;
}

/** Usable right now: not revoked, expired or (refresh) rotated; its authorization live; its user enabled. */
export function isTokenActive(context: TokenContext, now: number): boolean {
  const { token, authorization, user } = context;
  return (
    token.revokedAt === null &&
    token.expiresAt > now &&
    token.rotatedAt === null &&
    authorization.revokedAt === null &&
    user.disabledAt === null
  );
}

/**
 * The live access token behind a bearer credential, or null (for the /mcp
 * bearer check): at once on SQLite, lookup and last-use write alike
 * (src/db/execute-now.ts).
 */
export function authenticateAccessToken(db: Store, token: string, now: number): Maybe<TokenContext | null> {
  return andThen(findPresentedToken(db, token, "access"), (presented) => {
    if (!presented || !isTokenActive(presented.context, now)) return null;
    const { context } = presented;
    return andThen(touchAuthorization(db, context.authorization, now), () => context);
  });
}

/** Sets the connection's last use, at most once a minute. */
export function touchAuthorization(
  db: Store,
  authorization: { id: string; lastUsedAt: number | null },
  now: number,
): Maybe<void> {
  if (authorization.lastUsedAt !== null && now - authorization.lastUsedAt < lastUsedResolutionSeconds) return;
  authorization.lastUsedAt = now;
  return updateAuthorizationLastUsed(db, authorization.id, now);
}

/**
 * A grant's last-use writes, as steps of its transaction so they commit with its tokens (one
 * commit, not three): the authorization's and, when given, the client's, each at most once a
 * minute as touchAuthorization writes the authorization's. A registration in use must not expire
 * (deleteUnusedRegistrations), and the clients pages show when it was last used, not each request.
 * The authorization is read in the body, so a retried body sees what a concurrent grant wrote; the
 * client was read before the body began, so its write checks again in SQL (markClientUsed).
 */
export function* recordGrantUse(
  tx: Store,
  now: number,
  authorization: { id: string; lastUsedAt: number | null },
  client?: { id: string; lastUsedAt: number | null },
): Steps<void> {
  if (lastUseDue(authorization.lastUsedAt, now)) yield* markAuthorizationUsed(tx, authorization.id, now);
  if (client && lastUseDue(client.lastUsedAt, now))
    yield* markClientUsed(tx, client.id, now, now - lastUsedResolutionSeconds);
}

function lastUseDue(lastUsedAt: number | null, now: number): boolean {
  return lastUsedAt === null || now - lastUsedAt >= lastUsedResolutionSeconds;
}

/**
 * RFC 7009 §2.1: revokes a token the client holds. An access token ends
 * alone; a refresh token ends its whole authorization. `clientId` is the
 * authenticated client, or null when the request named none: possession then
 * suffices only for a public client's token (a confidential client must
 * authenticate: invalid_client). Unknown tokens and tokens of other clients
 * are left alone (null; the caller still answers 200, §2.2).
 */
export async function revokePresentedToken(
  db: Store,
  input: { token: string; clientId: string | null; now: number },
): Promise<TokenContext | null> {
  // One transaction: the token and its client as they are when it is revoked, and a
  // refresh token's authorization revoked with all its tokens, none issued in between.
  return transaction(db, function* (tx) {
    const presented = yield* presentedToken(tx, input.token);
    if (!presented) return null;
    const { token, authorization, client } = presented.context;
    if (input.clientId === null) {
      if (isConfidential(client)) throw new InvalidClient("Client authentication is required to revoke this token.");
    } else if (authorization.clientId !== input.clientId) {
      return null;
    }
    if (token.kind === "refresh") yield* revokeAuthorizationAndTokens(tx, token.grantId, input.now);
    else yield* markTokenRevoked(tx, token.id, input.now);
    return presented.context;
  });
}
