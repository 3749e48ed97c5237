import { afterAll, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { eq } from "drizzle-orm";
import * as oauth from "oauth4webapi";
import { createUser } from "../../src/accounts/users.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { consent } from "./consent-form.ts";
import { advanceClock } from "../support/clock.ts";

// The whole authorization code flow with oauth4webapi as a strict client,
// against the server listening on loopback: discovery, registration, PKCE,
// the `iss` check, code exchange, refresh rotation, the grace window,
// replay after it, revocation and introspection.

const insecure = { [oauth.allowInsecureRequests]: true };
const redirectUri = "http://127.0.0.1:33418/callback";
const password = "correct horse battery staple";

let app: TestApp;
let as: oauth.AuthorizationServer;
let client: oauth.Client;
let browser: Browser;
let adminKey: string;

beforeAll(async () => {
  app = await createTestApp();
  const user = await createUser(app.db, {
    email: "ada@example.com",
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: true,
    now: Math.floor(Date.now() / 1000),
  });
  adminKey = (
    await createApiKey(app.db, {
      userId: user.id,
      name: "introspect",
      access: "read",
      expiresInSeconds: null,
      now: Math.floor(Date.now() / 1000),
    })
  ).token;
  browser = new Browser(app.url);
  const csrf = Browser.csrfOf(await (await browser.get("/sign-in")).text());
  const signIn = await browser.post("/sign-in", { csrf, next: "/", email: "ada@example.com", password });
  if (signIn.status !== 303) throw new Error(`sign-in failed: ${signIn.status}`);
});
afterAll(async () => {
  setSystemTime();
  await app.close();
});

async function authorize(state: string, verifier: string): Promise<URL> {
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set("client_id", client.client_id);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", "mcp:read mcp:write");
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set("code_challenge_method", "S256");
  return consent(browser, url, { button: "allow", access: "full" });
}

async function refresh(refreshToken: string) {
  const res = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, insecure);
  return oauth.processRefreshTokenResponse(as, client, res);
}

describe("oauth4webapi, end to end", () => {
  let tokens: oauth.TokenEndpointResponse;

  test("discovers the authorization server", async () => {
    const res = await oauth.discoveryRequest(new URL(app.url), { algorithm: "oauth2", ...insecure });
    as = await oauth.processDiscoveryResponse(new URL(app.url), res);
    expect(as.issuer).toBe(app.url);
  });

  test("registers a public client dynamically", async () => {
    const res = await oauth.dynamicClientRegistrationRequest(
      as,
      {
        client_name: "Claude (MCP connector)",
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
      },
      insecure,
    );
    client = await oauth.processDynamicClientRegistrationResponse(res);
    expect(client.client_id).toMatch(/^gate_client_/);
  });

  test("signs in, consents, and gets a code whose iss the client checks", async () => {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const callback = await authorize(state, verifier);
    expect(callback.searchParams.get("iss")).toBe(app.url);
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const res = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      redirectUri,
      verifier,
      insecure,
    );
    tokens = await oauth.processAuthorizationCodeResponse(as, client, res);
    expect(tokens.token_type).toBe("bearer");
    expect(tokens.access_token).toMatch(/^gate_at_/);
    expect(tokens.refresh_token).toMatch(/^gate_rt_/);
    expect(tokens.scope).toBe("mcp:read mcp:write");
    expect(tokens.expires_in).toBe(app.config.accessTokenTtlSeconds);
  });

  test("refresh rotates the refresh token", async () => {
    const next = await refresh(tokens.refresh_token!);
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.access_token).not.toBe(tokens.access_token);
    tokens = next;
  });

  test("two simultaneous refreshes with the same token both succeed with the same pair", async () => {
    const [a, b] = await Promise.all([refresh(tokens.refresh_token!), refresh(tokens.refresh_token!)]);
    expect(a.refresh_token).toBe(b.refresh_token!);
    expect(a.access_token).toBe(b.access_token);
    const previous = tokens.refresh_token!;
    tokens = a;
    // Still inside the grace window: the just-rotated token gets the same pair again.
    const again = await refresh(previous);
    expect(again.refresh_token).toBe(tokens.refresh_token!);
  });

  test("replaying a rotated refresh token after the grace window revokes the whole family", async () => {
    const { oauthTokens } = app.db.tables;
    const rotatedAway = tokens.refresh_token!;
    tokens = await refresh(rotatedAway);
    advanceClock(app.config.refreshGraceSeconds + 5);
    try {
      await expect(refresh(rotatedAway)).rejects.toMatchObject({ error: "invalid_grant" });
      // The newest refresh token of the family stopped working too.
      await expect(refresh(tokens.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
      const live = (await app.db.select().from(oauthTokens)).filter((t) => t.revokedAt === null);
      expect(live).toHaveLength(0);
    } finally {
      setSystemTime();
    }
  });

  test("a new authorization can be revoked, and introspection then reports it inactive", async () => {
    const { oauthGrants } = app.db.tables;
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const params = oauth.validateAuthResponse(as, client, await authorize(state, verifier), state);
    const res = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      redirectUri,
      verifier,
      insecure,
    );
    const fresh = await oauth.processAuthorizationCodeResponse(as, client, res);

    const introspect = async (token: string) => {
      const r = await fetch(as.introspection_endpoint!, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token }),
      });
      return (await r.json()) as Record<string, unknown>;
    };
    const active = await introspect(fresh.access_token);
    expect(active).toMatchObject({
      active: true,
      client_id: client.client_id,
      scope: "mcp:read mcp:write",
      aud: `${app.url}/mcp`,
    });

    const revoked = await oauth.revocationRequest(as, client, oauth.None(), fresh.refresh_token!, insecure);
    await oauth.processRevocationResponse(revoked);
    expect(await introspect(fresh.access_token)).toEqual({ active: false });
    const grants = await app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, client.client_id));
    expect(grants.every((g) => g.revokedAt !== null)).toBe(true);
  });
});
