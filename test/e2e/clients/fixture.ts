import { afterAll, beforeAll } from "bun:test";
import type { Client } from "@modelcontextprotocol/client";
import type { Page } from "playwright-core";
import { type Browser, createTestApp, type TestApp } from "../../helpers.ts";
import { connectClient, rpc } from "../../mcp/fixture.ts";
import { consent, type ConsentChoice } from "../consent-form.ts";
import { password, signedIn, tokenRequest } from "../field-failures-fixture.ts";
import { authorizeInBrowser } from "../sdk-oauth-client.ts";

// What every client profile of test/e2e/clients shares: a Gatehouse with a
// signed-in person, the consent answered in one place, discovery from the
// /mcp 401 as clients do it, token requests with each client authentication
// method, and the MCP calls made with the tokens.

type Json = Record<string, any>;

/** The one answer every client flow gives the consent page: Allow, as served (what nearly everyone does). */
export const approval: ConsentChoice = { button: "allow" };

/** Answers the consent page of `authorizeUrl` in the cookie-jar browser; the redirect back to the client. */
export function approveConsent(browser: Browser, authorizeUrl: URL): Promise<URL> {
  return consent(browser, authorizeUrl, approval);
}

/**
 * Opens `authorizeUrl` in Chromium, signs the gate's person in when asked, and
 * answers the consent page with the same choice; resolves once the browser
 * has loaded the client's redirect URI (`redirectPrefix` followed by `?`).
 */
export async function approveConsentInChromium(
  page: Page,
  gate: Gate,
  authorizeUrl: URL,
  redirectPrefix: string,
): Promise<URL> {
  const landed = page.waitForURL((u) => u.href.startsWith(`${redirectPrefix}?`), {
    waitUntil: "load",
    timeout: 15_000,
  });
  landed.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
  await authorizeInBrowser(page, authorizeUrl, { email: gate.email, password }, approval);
  await landed;
  return new URL(page.url());
}

/** A running Gatehouse and a person signed in to it in a cookie-jar browser. */
export interface Gate {
  app: TestApp;
  browser: Browser;
  email: string;
  /** An admin API key of the person's, for introspection. */
  adminKey: string;
}

/** Starts Gatehouse before the file's tests (settings in `options.env`, a clock in `options.now`) and stops it after; fields are set once they run. */
export function useGatehouse(options: Parameters<typeof createTestApp>[0] = {}): Gate {
  const gate = {} as Gate;
  beforeAll(async () => {
    gate.app = await createTestApp(options);
    Object.assign(gate, await signedIn(gate.app));
  });
  afterAll(() => gate.app?.close());
  return gate;
}

/** The parameters of a `WWW-Authenticate: Bearer k="v", …` challenge. */
export function challengeParams(header: string | null): Record<string, string> {
  if (!header?.startsWith("Bearer ")) throw new Error(`not a Bearer challenge: ${header}`);
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

export interface Discovery {
  /** The 401's challenge parameters: resource_metadata and scope. */
  challenge: Record<string, string>;
  /** RFC 9728 protected resource metadata. */
  resource: Json;
  /** RFC 8414 authorization server metadata. */
  server: Json;
}

/** What a client learns from an unauthenticated `initialize` on /mcp: the 401, then RFC 9728, then RFC 8414 at the server it names. */
export async function discover(app: TestApp): Promise<Discovery> {
  const res = await rpc(app, null, {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "client", version: "1" } },
  });
  if (res.status !== 401) throw new Error(`/mcp without a token answered ${res.status}`);
  const challenge = challengeParams(res.headers.get("www-authenticate"));
  const resource = (await (await fetch(challenge.resource_metadata!)).json()) as Json;
  const server = (await (
    await fetch(`${resource.authorization_servers[0]}/.well-known/oauth-authorization-server`)
  ).json()) as Json;
  return { challenge, resource, server };
}

/** How a client authenticates at the token endpoint (RFC 6749 §2.3), with what registration gave it. */
export interface ClientAuth {
  method: "none" | "client_secret_post" | "client_secret_basic";
  clientId: string;
  secret?: string;
}

/** The form fields and headers that carry the client's credentials. */
function credentials(auth: ClientAuth): { fields: Record<string, string>; headers: Record<string, string> } {
  if (auth.method === "none") return { fields: { client_id: auth.clientId }, headers: {} };
  if (auth.method === "client_secret_post")
    return { fields: { client_id: auth.clientId, client_secret: auth.secret! }, headers: {} };
  // RFC 6749 §2.3.1: each part form-urlencoded, then Basic.
  const basic = btoa(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.secret!)}`);
  return { fields: {}, headers: { authorization: `Basic ${basic}` } };
}

/** A token request as the client sends it: its grant parameters plus its client authentication. */
export async function tokenCall(
  app: TestApp,
  auth: ClientAuth,
  params: Record<string, string>,
): Promise<{ res: Response; json: Json }> {
  const { fields, headers } = credentials(auth);
  return tokenRequest(app.url, { ...params, ...fields }, headers);
}

/**
 * Two refreshes with the same refresh token at once, as claude.ai sends them
 * from two of its servers (docs/field-failures.md, field failure 7).
 */
export function doubleRefresh(
  app: TestApp,
  auth: ClientAuth,
  refreshToken: string,
  extra: Record<string, string> = {},
) {
  const refresh = () => tokenCall(app, auth, { grant_type: "refresh_token", refresh_token: refreshToken, ...extra });
  return Promise.all([refresh(), refresh()]);
}

/** The SDK client on /mcp with the access token as its bearer, on the 2025 handshake these clients speak. */
export function mcpWith(app: TestApp, accessToken: string): Promise<Client> {
  return connectClient(app, accessToken, "legacy");
}
