import { openSession } from "../../src/accounts/sessions.ts";
import { insertUser } from "../support/rows.ts";
import { addClient as addClientStep, type OAuthClient } from "../../src/oauth/clients-store.ts";
import { randomString } from "../../src/security/tokens.ts";
import { transaction } from "../../src/db/transaction.ts";
import { Browser, type TestApp } from "../helpers.ts";
import { nowSeconds } from "../support/clock.ts";
import { clientRow } from "../support/factories.ts";

// Shared by the authorization endpoint and consent page tests.

export { nowSeconds } from "../support/clock.ts";
export const redirectUri = "http://127.0.0.1:33418/callback";
/** RFC 7636 Appendix B's S256 challenge. */
export const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

export async function addClient(app: TestApp, overrides: Partial<OAuthClient> = {}): Promise<OAuthClient> {
  const client = clientRow({
    id: `gate_client_${randomString(10)}`,
    name: "Test MCP client",
    redirectUris: [redirectUri],
    ...overrides,
  });
  await transaction(app.db, (tx) => addClientStep(tx, client));
  return client;
}

export async function addUser(app: TestApp, email = `${randomString(5)}@example.com`): Promise<string> {
  const id = randomString(10);
  await insertUser(app.db, {
    id,
    email,
    passwordHash: null,
    isAdmin: false,
    createdAt: nowSeconds(),
    disabledAt: null,
  });
  return id;
}

/** A browser holding a session of `userId` (opened with an API key when given). */
export async function browserOf(app: TestApp, userId: string, apiKeyId: string | null = null): Promise<Browser> {
  const b = new Browser(app.url, app.send);
  const { token } = await openSession(app.db, { userId, apiKeyId, apiKeyExpiresAt: null, now: nowSeconds() });
  b.cookies.set("gatehouse_session", token);
  return b;
}

/** The authorize path for a client; `null` leaves a parameter out. */
export function authorizePath(clientId: string, overrides: Record<string, string | null> = {}): string {
  const params: Record<string, string | null> = {
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: "mcp:read mcp:write",
    state: "state-123",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...overrides,
  };
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null) search.append(k, v);
  return `/oauth/authorize?${search}`;
}

/** The hidden pending-request id on a consent page. */
export function requestIdOf(html: string): string {
  const match = /name="request" value="([a-z2-7]+)"/.exec(html);
  if (!match) throw new Error(`no consent form on the page:\n${html.slice(0, 1500)}`);
  return match[1]!;
}

/** Opens the consent page and returns what its form needs. */
export async function openConsent(b: Browser, path: string) {
  const res = await b.get(path);
  const html = await res.text();
  if (res.status !== 200) throw new Error(`consent page answered ${res.status}: ${html.slice(0, 500)}`);
  return { res, html, csrf: Browser.csrfOf(html), request: requestIdOf(html) };
}

/** The Location of a redirect, parsed, with its query as a plain object. */
export function locationOf(res: Response): { url: URL; query: Record<string, string> } {
  const location = res.headers.get("location");
  if (!location) throw new Error(`no Location header (status ${res.status})`);
  const url = new URL(location);
  return { url, query: Object.fromEntries(url.searchParams) };
}
