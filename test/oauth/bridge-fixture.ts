import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import type { OAuthClient } from "../../src/oauth/clients-store.ts";
import { bridgeStateHash } from "../../src/oauth/bridge.ts";
import { randomString } from "../../src/security/tokens.ts";
import type { Browser, TestApp } from "../helpers.ts";
import { addClient, authorizePath, openConsent } from "./authorize-fixture.ts";

// Shared by the polling bridge tests: a client registered with Gatehouse's
// own callback, strong states, the consent answer and the poll.

export const bridgePath = "/oauth/bridge/callback";
export const bridgeUrlOf = (app: TestApp) => `${app.url}${bridgePath}`;
/** 52 base32 characters: a state strong enough for the bridge. */
export const strongState = () => randomString(32);

export function addBridgeClient(app: TestApp, overrides: Partial<OAuthClient> = {}): Promise<OAuthClient> {
  return addClient(app, { name: "Figma plugin", redirectUris: [bridgeUrlOf(app)], ...overrides });
}

export function bridgeAuthorizePath(
  app: TestApp,
  clientId: string,
  state: string,
  overrides: Record<string, string | null> = {},
): string {
  return authorizePath(clientId, { redirect_uri: bridgeUrlOf(app), scope: "mcp:read", state, ...overrides });
}

/** Opens the consent page for the bridge and answers it; returns the redirect response. */
export async function answerBridgeConsent(
  app: TestApp,
  b: Browser,
  clientId: string,
  state: string,
  decision: "allow" | "deny" = "allow",
) {
  const page = await openConsent(b, bridgeAuthorizePath(app, clientId, state));
  return b.post("/oauth/authorize", { csrf: page.csrf, request: page.request, decision, access: "read" });
}

export async function poll(app: TestApp, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await app.request("/oauth/bridge/poll", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form),
  });
  return { res, json: (await res.json()) as Record<string, string> };
}

/** The same poll as a GET with the parameters in the query, as Figma-style plugins send it. */
export async function pollByGet(app: TestApp, query: string, headers: Record<string, string> = {}) {
  const res = await app.request(`/oauth/bridge/poll?${query}`, { headers });
  return { res, json: (await res.json()) as Record<string, string> };
}

export async function bridgeRow(app: TestApp, state: string) {
  const { oauthBridgeCodes } = app.db.tables;
  return first(
    await app.db
      .select()
      .from(oauthBridgeCodes)
      .where(eq(oauthBridgeCodes.stateHash, bridgeStateHash(state)))
      .limit(1),
  );
}
