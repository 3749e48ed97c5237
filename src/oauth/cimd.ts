import { safeFetch, SafeFetchError, type SafeFetchReason, type SafeResponse } from "../security/ssrf-fetch.ts";
import type { Store } from "../db/store.ts";
import type { Logger } from "../log.ts";
import { findClientById, upsertClient, type OAuthClient } from "./clients-store.ts";
import { hasLiveAuthorization } from "./authorizations-store.ts";
import { redirectUriProblem } from "./redirect-uris.ts";

// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document):
// a client_id that is an https URL names a JSON document describing the
// client. It is fetched with the SSRF-safe fetch, validated, and cached in
// oauth_clients (kind "cimd") for as long as its Cache-Control allows, within
// [5 min, 24 h]. Cache policy when a refetch fails (each request retries it):
// - transport trouble (timeout, DNS, connection, HTTP 5xx): the cached copy is
//   still served for up to `staleIfErrorSeconds` past its expiry (the spirit
//   of RFC 5861 stale-if-error), so a client's brief outage does not lock its
//   users out.
// - at the token and revocation endpoints (`useLastGoodCopy`), a known client
//   (a live authorization, or used: consent given or a code exchanged) keeps its last
//   good copy for any failure, a 404 or an invalid document too, as long as
//   that copy was fetched less than `lastGoodCopySeconds` ago: an existing
//   connection must not end because the client's host served a 404 for a
//   while (claude.com's did).
// - otherwise, and always for a new authorization, anything but transport
//   trouble makes the client unknown at once; its row and authorizations stay, and
//   deleting it (admin page) is what revokes its authorizations.

/** What resolving a client needs (clients.ts): the database, the clock, and for a metadata document URL how to fetch it. */
export interface ClientDeps {
  db: Store;
  now: () => number;
  publicUrl: string;
  /** Hears why a client_id URL's metadata document was refused. */
  log?: Logger;
  /** Time limit for fetching a metadata document; 5 s when unset. */
  cimdTimeoutMs?: number;
  /**
   * For requests about existing authorizations (token, revocation): a known client
   * keeps its last good metadata document for 7 days when a refetch fails
   * (below). A new authorization leaves it unset and re-checks the document.
   */
  useLastGoodCopy?: boolean;
}

export const cimdMinTtlSeconds = 5 * 60;
export const cimdMaxTtlSeconds = 24 * 3600;
export const cimdDefaultTtlSeconds = 3600;
export const staleIfErrorSeconds = 3600;
export const lastGoodCopySeconds = 7 * 86400;
const maxDocumentBytes = 16 * 1024;
const maxClientIdLength = 2000;
const maxRedirectUris = 20;
const maxClientNameLength = 200;

export type CimdReason =
  | "client_id_url"
  | `fetch_${SafeFetchReason}`
  | "unavailable"
  | "status"
  | "content_type"
  | "not_json"
  | "client_id_mismatch"
  | "client_secret"
  | "auth_method"
  | "redirect_uris"
  | "client_name";

export class CimdError extends Error {
  constructor(
    readonly reason: CimdReason,
    message: string,
    /** Worth serving a stale copy for: the document may well be back soon. */
    readonly transient = false,
  ) {
    super(message);
    this.name = "CimdError";
  }
}

/** A client_id that names a metadata document rather than a registration. */
export function isClientIdUrl(clientId: string): boolean {
  return /^https?:\/\//i.test(clientId);
}

/** True when Gatehouse itself is served over loopback http (local development, tests). */
export function isLoopbackHttpOrigin(publicUrl: string): boolean {
  const url = new URL(publicUrl);
  return (
    url.protocol === "http:" &&
    (url.hostname === "localhost" || url.hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(url.hostname))
  );
}

/**
 * Why `clientId` cannot be a client identifier URL, or null (CIMD draft §3):
 * https, a path, no dot segments, no fragment, no userinfo. Loopback http
 * only when Gatehouse itself runs on loopback http.
 */
export function clientIdUrlProblem(clientId: string, allowLoopbackHttp: boolean): string | null {
  if (clientId.length > maxClientIdLength) return "the client_id URL is too long";
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return "the client_id is not a URL";
  }
  const loopbackHttp =
    allowLoopbackHttp && url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !loopbackHttp) return "a client_id URL must use https";
  if (url.username || url.password) return "a client_id URL must not carry credentials";
  if (clientId.includes("#")) return "a client_id URL must not have a fragment";
  if (url.pathname === "/" || url.pathname === "") return "a client_id URL must have a path";
  const rawPath = clientId.split("?")[0]!.replace(/^[a-z]+:\/\/[^/]*/i, "");
  const dotted = rawPath.split("/").some((s) => [".", ".."].includes(s.toLowerCase().replaceAll("%2e", ".")));
  if (dotted) return "a client_id URL must not contain . or .. path segments";
  return null;
}

/**
 * How long a fetched document is cached, from its Cache-Control: s-maxage or
 * max-age clamped to [5 min, 24 h]; no-store or no-cache get the minimum; no
 * header, an hour.
 */
export function cacheTtlSeconds(cacheControl: string | null): number {
  if (cacheControl === null) return cimdDefaultTtlSeconds;
  const directives = cacheControl
    .toLowerCase()
    .split(",")
    .map((d) => d.trim());
  if (directives.includes("no-store") || directives.includes("no-cache")) return cimdMinTtlSeconds;
  const age = (name: string) => {
    const match = directives.map((d) => new RegExp(`^${name}\\s*=\\s*"?(\\d+)"?$`).exec(d)).find(Boolean);
    return match ? Number(match[1]) : null;
  };
  const seconds = age("s-maxage") ?? age("max-age");
  if (seconds === null) return cimdDefaultTtlSeconds;
  return Math.min(cimdMaxTtlSeconds, Math.max(cimdMinTtlSeconds, seconds));
}

/** The client a fetched document describes (CIMD draft §4.1), or a CimdError. Pure. */
export function clientFromDocument(clientId: string, doc: unknown, now: number, ttlSeconds: number): OAuthClient {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new CimdError("not_json", "the document is not a JSON object");
  const d = doc as Record<string, unknown>;
  // Simple string comparison (RFC 3986 §6.2.1), as the draft requires.
  if (d.client_id !== clientId)
    throw new CimdError("client_id_mismatch", "the document's client_id is not its own URL");
  // No shared secret can exist for a document anyone can read.
  if (d.client_secret !== undefined || d.client_secret_expires_at !== undefined) {
    throw new CimdError("client_secret", "the document must not contain a client_secret");
  }
  const method = d.token_endpoint_auth_method ?? "none";
  if (method !== "none")
    throw new CimdError("auth_method", `token_endpoint_auth_method ${String(method)} is not supported; use none`);
  const uris = d.redirect_uris;
  if (
    !Array.isArray(uris) ||
    uris.length === 0 ||
    uris.length > maxRedirectUris ||
    !uris.every((u) => typeof u === "string")
  ) {
    throw new CimdError("redirect_uris", `redirect_uris must be a list of 1 to ${maxRedirectUris} strings`);
  }
  const bad = uris.map(redirectUriProblem).find((p) => p !== null);
  if (bad) throw new CimdError("redirect_uris", bad);
  if (d.client_name !== undefined && typeof d.client_name !== "string")
    throw new CimdError("client_name", "client_name must be a string");
  const name = (d.client_name ?? "").trim();
  if (name.length > maxClientNameLength)
    throw new CimdError("client_name", `client_name is longer than ${maxClientNameLength} characters`);
  const clientUri = typeof d.client_uri === "string" && /^https:\/\//i.test(d.client_uri) ? d.client_uri : null;
  return {
    id: clientId,
    kind: "cimd",
    name: name || new URL(clientId).host,
    redirectUris: [...new Set(uris as string[])],
    tokenEndpointAuthMethod: "none",
    secretHash: null,
    clientUri,
    fingerprint: null,
    metadataExpiresAt: now + ttlSeconds,
    metadataFetchedAt: now,
    createdAt: now,
    lastUsedAt: null,
    ownerUserId: null,
  };
}

const transientFetchReasons = new Set<SafeFetchReason>(["timeout", "network", "dns"]);

/** Fetches and validates the document at `clientId` (CIMD draft §4). */
export async function fetchClientMetadata(
  clientId: string,
  opts: { allowLoopbackHttp: boolean; timeoutMs?: number; now: number },
): Promise<OAuthClient> {
  let res: SafeResponse;
  try {
    res = await safeFetch(clientId, {
      allowLoopbackHttp: opts.allowLoopbackHttp,
      timeoutMs: opts.timeoutMs,
      maxBytes: maxDocumentBytes,
      headers: { accept: "application/json", "user-agent": "Gatehouse" },
    });
  } catch (error) {
    if (!(error instanceof SafeFetchError)) throw error;
    throw new CimdError(`fetch_${error.reason}`, error.message, transientFetchReasons.has(error.reason));
  }
  if (res.status >= 500) throw new CimdError("unavailable", `the document's server answered ${res.status}`, true);
  if (res.status !== 200) throw new CimdError("status", `the document's server answered ${res.status}`);
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json" && !/^application\/[\w.+-]+\+json$/.test(type)) {
    throw new CimdError("content_type", `the document is ${type || "untyped"}, not application/json`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(res.body));
  } catch {
    throw new CimdError("not_json", "the document is not valid JSON");
  }
  return clientFromDocument(clientId, doc, opts.now, cacheTtlSeconds(res.headers.get("cache-control")));
}

/**
 * The client behind a client_id URL: from the database while its copy is
 * fresh, else fetched again (see the cache policy at the top). Null when
 * there is none; `deps.log` hears why.
 */
export async function resolveMetadataDocumentClient(deps: ClientDeps, clientId: string): Promise<OAuthClient | null> {
  const now = deps.now();
  const allowLoopbackHttp = isLoopbackHttpOrigin(deps.publicUrl);
  const problem = clientIdUrlProblem(clientId, allowLoopbackHttp);
  if (problem) {
    deps.log?.warn("client_id URL refused", { client_id: clientId, reason: "client_id_url", detail: problem });
    return null;
  }
  const cached = await findClientById(deps.db, clientId);
  if (cached && (cached.kind !== "cimd" || (cached.metadataExpiresAt ?? 0) > now)) return cached;
  try {
    const fresh = await fetchClientMetadata(clientId, { allowLoopbackHttp, timeoutMs: deps.cimdTimeoutMs, now });
    const client: OAuthClient = {
      ...fresh,
      createdAt: cached?.createdAt ?? now,
      lastUsedAt: cached?.lastUsedAt ?? null,
    };
    await upsertClient(deps.db, client);
    return client;
  } catch (error) {
    if (!(error instanceof CimdError)) throw error;
    const stale = cached !== null && error.transient && now < (cached.metadataExpiresAt ?? 0) + staleIfErrorSeconds;
    const lastGood =
      !stale && cached !== null && deps.useLastGoodCopy === true && (await isLastGoodCopyUsable(deps, cached, now));
    deps.log?.warn("client metadata document refused", {
      client_id: clientId,
      reason: error.reason,
      detail: error.message,
      served_stale: stale,
      served_last_good: lastGood,
    });
    return stale || lastGood ? cached : null;
  }
}

/** A known client's copy fetched less than `lastGoodCopySeconds` ago (see the cache policy at the top). */
async function isLastGoodCopyUsable(deps: ClientDeps, cached: OAuthClient, now: number): Promise<boolean> {
  if (
    cached.kind !== "cimd" ||
    cached.metadataFetchedAt === null ||
    now - cached.metadataFetchedAt >= lastGoodCopySeconds
  )
    return false;
  return cached.lastUsedAt !== null || (await hasLiveAuthorization(deps.db, cached.id));
}
