// Shared setup for the token, revocation and introspection tests: users,
// clients and codes made directly in the database, and raw HTTP requests.
import { createUser } from "../../src/accounts/users.ts";
import { insertClient, type OAuthClient, type TokenEndpointAuthMethod } from "../../src/oauth/clients-store.ts";
import { approveAuthorization } from "../../src/oauth/authorizations.ts";
import { mcpResourceUrl } from "../../src/oauth/resource.ts";
import { hashSecret, randomString } from "../../src/security/tokens.ts";
import type { TestApp } from "../helpers.ts";

/** RFC 7636 Appendix B. */
export const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
export const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
export const redirectUri = "https://client.example/callback";
export const nowSeconds = () => Math.floor(Date.now() / 1000);
export const accessPattern = /^gate_at_[a-z2-7]{16}_[a-z2-7]{52}$/;
export const refreshPattern = /^gate_rt_[a-z2-7]{16}_[a-z2-7]{52}$/;

export async function makeUser(app: TestApp, opts: { isAdmin?: boolean; email?: string } = {}) {
  return createUser(app.db, { email: opts.email ?? `${randomString(5)}@example.com`, password: null, isAdmin: opts.isAdmin ?? false, now: nowSeconds() });
}

/** A registered client; confidential ones come with their secret. */
export function makeClient(app: TestApp, opts: { method?: TokenEndpointAuthMethod; name?: string } = {}): { client: OAuthClient; secret: string | null } {
  const method = opts.method ?? "none";
  const secret = method === "none" ? null : randomString(32);
  const client: OAuthClient = {
    id: randomString(10),
    kind: "dcr",
    name: opts.name ?? "Test client",
    redirectUris: [redirectUri],
    tokenEndpointAuthMethod: method,
    secretHash: secret === null ? null : hashSecret(secret),
    clientUri: null,
    fingerprint: null,
    metadataExpiresAt: null,
    metadataFetchedAt: null,
    createdAt: nowSeconds(),
    lastUsedAt: null,
    ownerUserId: null,
  };
  insertClient(app.db, client);
  return { client, secret };
}

export function makeCode(
  app: TestApp,
  input: { userId: string; clientId: string; scope?: string; tools?: string[] | null; apiKeyId?: string | null; codeChallenge?: string },
) {
  return approveAuthorization(app.db, {
    userId: input.userId,
    clientId: input.clientId,
    apiKeyId: input.apiKeyId ?? null,
    scope: input.scope ?? "mcp:read mcp:write",
    // Every write tool unless a test limits it, as authorizations made before per-tool authorizations.
    tools: input.tools === undefined ? null : input.tools,
    resource: mcpResourceUrl(app.url),
    redirectUri,
    codeChallenge: input.codeChallenge ?? challenge,
    now: nowSeconds(),
    codeTtlSeconds: app.config.authCodeTtlSeconds,
  });
}

/** POSTs form parameters (pairs, so a test can repeat one) to an OAuth endpoint. */
export function postForm(app: TestApp, path: string, params: [string, string][] | Record<string, string>, headers: Record<string, string> = {}) {
  const body = new URLSearchParams(params as Record<string, string>).toString();
  return fetch(app.url + path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body });
}

export function basicAuth(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `Basic ${btoa(`${enc(clientId)}:${enc(secret)}`)}`;
}

export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  scope: string;
}

/** A public client's code exchange, expected to succeed. */
export async function exchangeCode(app: TestApp, clientId: string, code: string): Promise<TokenBody> {
  const res = await postForm(app, "/oauth/token", { grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier, client_id: clientId });
  if (res.status !== 200) throw new Error(`exchange failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as TokenBody;
}

export function refreshRequest(app: TestApp, clientId: string, refreshToken: string, extra: Record<string, string> = {}) {
  return postForm(app, "/oauth/token", { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId, ...extra });
}

/** A fresh user, public client and token pair. */
export async function connected(app: TestApp, opts: { scope?: string } = {}) {
  const user = await makeUser(app);
  const { client } = makeClient(app);
  const { authorization, code } = makeCode(app, { userId: user.id, clientId: client.id, scope: opts.scope });
  const tokens = await exchangeCode(app, client.id, code);
  return { user, client, authorization, tokens };
}
