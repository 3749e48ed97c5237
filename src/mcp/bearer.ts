import { andThen, type Maybe } from "../db/execute-now.ts";
import type { Store } from "../db/store.ts";
import { apiKeyPrefix, authenticateApiKey, touchApiKey } from "../keys/api-keys.ts";
import type { ApiKeyWithUser } from "../keys/api-keys-store.ts";
import { accessTokenPrefix, authenticateAccessToken, touchAuthorization } from "../oauth/tokens.ts";
import type { TokenContext } from "../oauth/tokens-store.ts";
import { supportedScopes } from "../oauth/scopes.ts";
import type { ArgumentLimits, LimitSource } from "./argument-gates.ts";
import { newCaller, type Caller } from "./caller.ts";
import { tokenDigest, type CredentialCache, type Miss, type Verified } from "./credential-cache.ts";
import { policySourcesFor, type PolicyRule, type PolicySubject } from "./policy-config.ts";

// The bearer check in front of /mcp (RFC 6750 §2.1, header only). A token
// that passed is remembered only while the auth epoch stands still and until
// it expires (credential-cache.ts), so a revoked key or connection fails on
// its very next request. /metrics reads its header with the same pattern.
//
// The verdict is a value on SQLite, whose reads and last-use writes answer at
// once (src/db/execute-now.ts): the check costs no await, as before issue 15.
// On a store that answers later it is a promise the /mcp route awaits.

export type BearerOutcome =
  | { ok: true; caller: Caller }
  /** `description` is null when no credentials were sent (RFC 6750 §3.1: then no error code). */
  | { ok: false; description: string | null };

export interface BearerDeps {
  db: Store;
  /** Unix seconds, for this request. */
  now: number;
  /** The MCP resource URL a token must have been issued for (RFC 8707). */
  resourceUrl: string;
  credentials: CredentialCache;
  /** Admin [[policy]] rules from GATEHOUSE_CONFIG. */
  policies: readonly PolicyRule[];
}

/** The key's or connection's own limits, then each policy rule naming this person: a call must satisfy all. */
function limitSources(deps: BearerDeps, own: ArgumentLimits | null, user: PolicySubject): LimitSource[] {
  const sources: LimitSource[] = own === null ? [] : [{ kind: "credential", limits: own }];
  return deps.policies.length === 0 ? sources : [...sources, ...policySourcesFor(deps.policies, user)];
}

export const bearerPattern = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function checkBearer(deps: BearerDeps, authorization: string | null): Maybe<BearerOutcome> {
  if (authorization === null || authorization.trim() === "") return { ok: false, description: null };
  const token = bearerPattern.exec(authorization)?.[1];
  if (token === undefined) return { ok: false, description: "The Authorization header must be: Bearer <token>." };
  const check = token.startsWith(accessTokenPrefix)
    ? checkAccessToken
    : token.startsWith(apiKeyPrefix)
      ? checkApiKey
      : null;
  if (check === null) return { ok: false, description: "The token is not a Gatehouse access token or API key." };
  const digest = tokenDigest(token);
  const known = deps.credentials.get(digest, deps.now);
  // A branch rather than andThen's closure for the hit, which most requests are.
  if (known instanceof Promise) return known.then((caller) => verdict(deps, check, token, digest, caller));
  return verdict(deps, check, token, digest, known);
}

/** The cached caller's verdict, or a full check's, remembered when it passed. */
function verdict(
  deps: BearerDeps,
  check: (deps: BearerDeps, token: string) => Maybe<Checked>,
  token: string,
  digest: string,
  known: Caller | Miss,
): Maybe<BearerOutcome> {
  if (!("epoch" in known)) return { ok: true, caller: known };
  return andThen(check(deps, token), (outcome) => {
    if (!outcome.ok) return outcome;
    deps.credentials.set(digest, outcome.verified, known);
    return { ok: true, caller: outcome.verified.caller };
  });
}

type Checked = { ok: true; verified: Verified } | { ok: false; description: string };

function checkAccessToken(deps: BearerDeps, token: string): Maybe<Checked> {
  return andThen(authenticateAccessToken(deps.db, token, deps.now), (context) => accessTokenVerdict(deps, context));
}

function accessTokenVerdict(deps: BearerDeps, context: TokenContext | null): Checked {
  if (!context) return { ok: false, description: "The access token is unknown, expired or revoked." };
  // RFC 8707 §2 / MCP authorization: a token for another resource is not ours to honour.
  if (context.authorization.resource !== deps.resourceUrl)
    return { ok: false, description: "The access token was issued for another resource." };
  const caller = newCaller({
    userId: context.user.id,
    email: context.user.email,
    via: {
      kind: "connection",
      id: context.authorization.id,
      clientId: context.client.id,
      clientName: context.client.name,
    },
    scopes: context.token.scope.split(" ").filter(Boolean),
    // The authorization's tools, so a refreshed token keeps them.
    tools: context.authorization.tools,
    limits: limitSources(deps, context.authorization.argumentLimits, context.user),
    expiresAt: context.token.expiresAt,
  });
  const touch = (now: number) => touchAuthorization(deps.db, context.authorization, now);
  return { ok: true, verified: { caller, touch } };
}

function checkApiKey(deps: BearerDeps, token: string): Maybe<Checked> {
  return andThen(authenticateApiKey(deps.db, token, deps.now), (found) => apiKeyVerdict(deps, found));
}

function apiKeyVerdict(deps: BearerDeps, found: ApiKeyWithUser | null): Checked {
  if (!found) return { ok: false, description: "The API key is unknown, expired or revoked." };
  const { apiKey, user } = found;
  const caller = newCaller({
    userId: user.id,
    email: user.email,
    via: { kind: "api_key", id: apiKey.id, name: apiKey.name },
    scopes: apiKey.scope.split(" ").filter(Boolean),
    tools: apiKey.tools,
    limits: limitSources(deps, apiKey.argumentLimits, user),
    expiresAt: apiKey.expiresAt,
  });
  return { ok: true, verified: { caller, touch: (now) => touchApiKey(deps.db, apiKey, now) } };
}

/** Every scope /mcp knows: a challenge asks for all of them so one consent covers every tool. */
export const challengeScope = supportedScopes.join(" ");

/** RFC 6750 §3 / RFC 9728 §5.1: the 401 challenge, with error only when a token was sent. */
export function unauthorizedChallenge(resourceMetadataUrl: string, description: string | null): string {
  const base = `Bearer resource_metadata="${resourceMetadataUrl}", scope="${challengeScope}"`;
  return description === null ? base : `${base}, error="invalid_token", error_description="${description}"`;
}

/** RFC 6750 §3.1 insufficient_scope, naming every scope needed so the client can step up. */
export function insufficientScopeChallenge(resourceMetadataUrl: string, description: string): string {
  return `Bearer error="insufficient_scope", scope="${challengeScope}", resource_metadata="${resourceMetadataUrl}", error_description="${description}"`;
}
