// Rows the tests need, made through the same functions the app uses: people,
// OAuth clients, API keys, and connections (an approved authorization: the
// oauth_grants row and its one-time code).
import { createUser } from "../../src/accounts/users.ts";
import { type AccessLevel, createApiKey } from "../../src/keys/api-keys.ts";
import {
  addClient as addClientStep,
  type OAuthClient,
  type TokenEndpointAuthMethod,
} from "../../src/oauth/clients-store.ts";
import { approveAuthorization } from "../../src/oauth/authorizations.ts";
import { mcpResourceUrl } from "../../src/oauth/resource.ts";
import { hashSecret, randomString } from "../../src/security/tokens.ts";
import { transaction } from "../../src/db/transaction.ts";
import type { TestApp } from "../helpers.ts";
import { nowSeconds } from "./clock.ts";

/** RFC 7636 Appendix B's verifier and its S256 challenge. */
export const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
export const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/** Where the clients made here redirect unless told otherwise. */
export const redirectUri = "https://client.example/callback";

/** A person; with a password, hashed at the app's (low) test cost. */
export async function makeUser(app: TestApp, opts: { isAdmin?: boolean; email?: string; password?: string } = {}) {
  return createUser(app.db, {
    email: opts.email ?? `${randomString(5)}@example.com`,
    password: opts.password ?? null,
    passwordCost: app.config.passwordHashCost,
    isAdmin: opts.isAdmin ?? false,
    now: nowSeconds(),
  });
}

/** A dynamically registered public client's row, not yet stored. */
export function clientRow(overrides: Partial<OAuthClient> = {}): OAuthClient {
  return {
    id: randomString(10),
    kind: "dcr",
    name: "Test client",
    redirectUris: [redirectUri],
    tokenEndpointAuthMethod: "none",
    secretHash: null,
    clientUri: null,
    fingerprint: null,
    metadataExpiresAt: null,
    metadataFetchedAt: null,
    createdAt: nowSeconds(),
    lastUsedAt: null,
    ownerUserId: null,
    ...overrides,
  };
}

/** A registered client; confidential ones come with their secret. */
export async function makeClient(
  app: TestApp,
  opts: { method?: TokenEndpointAuthMethod; name?: string } = {},
): Promise<{ client: OAuthClient; secret: string | null }> {
  const method = opts.method ?? "none";
  const secret = method === "none" ? null : randomString(32);
  const client = clientRow({
    tokenEndpointAuthMethod: method,
    secretHash: secret === null ? null : hashSecret(secret),
    ...(opts.name !== undefined && { name: opts.name }),
  });
  await transaction(app.db, (tx) => addClientStep(tx, client));
  return { client, secret };
}

/** An API key of `userId`'s, and its token. */
export function makeKey(app: TestApp, userId: string, access: AccessLevel = "full", name = "Laptop") {
  return createApiKey(app.db, { userId, name, access, expiresInSeconds: null, now: nowSeconds() });
}

/** An approved authorization (a connection) of a user to a client, with the code to exchange for tokens. */
export async function makeConnection(
  app: TestApp,
  input: {
    userId: string;
    clientId: string;
    scope?: string;
    tools?: string[] | null;
    apiKeyId?: string | null;
    codeChallenge?: string;
  },
) {
  const approved = await approveAuthorization(app.db, {
    userId: input.userId,
    clientId: input.clientId,
    apiKeyId: input.apiKeyId ?? null,
    scope: input.scope ?? "mcp:read mcp:write",
    // Every write tool unless a test limits it, as authorizations made before per-tool write permissions.
    tools: input.tools === undefined ? null : input.tools,
    resource: mcpResourceUrl(app.url),
    redirectUri,
    codeChallenge: input.codeChallenge ?? challenge,
    now: nowSeconds(),
    codeTtlSeconds: app.config.authCodeTtlSeconds,
  });
  if (!approved) throw new Error("approveAuthorization: the session's API key was revoked");
  return approved;
}
