import * as oauth from "oauth4webapi";
import { createUser } from "../../src/accounts/users.ts";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import type { Store } from "../../src/db/store.ts";
import { openTestStore } from "../support/store.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { silentLogger } from "../../src/log.ts";
import { randomString } from "../../src/security/tokens.ts";
import { Browser } from "../helpers.ts";
import { consent } from "./consent-form.ts";
import { nowSeconds } from "../support/clock.ts";

// The client side of the field-failure tests: raw HTTP as an MCP client
// sends it (registration, the authorize URL, the token request), a signed-in
// browser for the consent page, and an app that can be stopped and opened
// again on the same data directory.

/** The password of every person `signedIn` makes. */
export const password = "correct horse battery staple";
type Json = Record<string, unknown>;

export interface Server {
  url: string;
  db: Store;
  /** Stops listening and closes the database; the data directory stays. */
  stop(): Promise<void>;
}

/** The real app on `dataDir` and `port`: a restart is `stop()` then another `openApp` on the same two. */
export async function openApp(dataDir: string, port: number, publicUrl = `http://127.0.0.1:${port}`): Promise<Server> {
  const store = await openTestStore(dataDir);
  const { db } = store;
  const config = loadConfig({
    GATEHOUSE_DATA_DIR: dataDir,
    PORT: String(port),
    GATEHOUSE_PUBLIC_URL: publicUrl,
    ...store.env,
  });
  const app = createApp({ config, db, log: silentLogger, now: nowSeconds });
  app.listen({ port, hostname: "127.0.0.1" });
  return {
    url: config.publicUrl,
    db,
    async stop() {
      await app.stop(true);
      await store.close();
    },
  };
}

/** A new admin, signed in with a password in a cookie-jar browser, their email, and an API key of theirs for introspection. */
export async function signedIn(server: {
  url: string;
  db: Store;
}): Promise<{ browser: Browser; adminKey: string; email: string }> {
  const email = `${randomString(6)}@example.com`;
  const user = await createUser(server.db, { email, password, isAdmin: true, now: nowSeconds() });
  const adminKey = (
    await createApiKey(server.db, {
      userId: user.id,
      name: "introspect",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    })
  ).token;
  const browser = new Browser(server.url);
  const csrf = Browser.csrfOf(await (await browser.get("/sign-in")).text());
  const res = await browser.post("/sign-in", { csrf, next: "/", email, password });
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
  return { browser, adminKey, email };
}

/** RFC 7591 registration as MCP clients send it: JSON, no credentials. */
export async function register(base: string, body: Json): Promise<{ res: Response; json: Json }> {
  const res = await fetch(`${base}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { res, json: (await res.json()) as Json };
}

/** A public client's registration; throws unless it is 201. */
export async function registerPublic(base: string, clientName: string, redirectUris: string[]): Promise<string> {
  const { res, json } = await register(base, {
    client_name: clientName,
    redirect_uris: redirectUris,
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(json)}`);
  return String(json.client_id);
}

/** An authorization request with PKCE S256 and a state; a param set to undefined is left out, "" is sent empty. */
export async function authorizeUrl(
  base: string,
  params: Record<string, string | undefined>,
): Promise<{ url: URL; verifier: string }> {
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL("/oauth/authorize", base);
  const all = {
    response_type: "code",
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state: "st-1",
    ...params,
  };
  for (const [key, value] of Object.entries(all)) if (value !== undefined) url.searchParams.set(key, value);
  return { url, verifier };
}

/** Authorizes in the browser (Full access); the redirect back to the client and the PKCE verifier. */
export async function authorizeCode(
  browser: Browser,
  clientId: string,
  redirectUri: string,
  params: Record<string, string | undefined> = {},
) {
  const { url, verifier } = await authorizeUrl(browser.base, {
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: "mcp:read mcp:write",
    ...params,
  });
  const callback = await consent(browser, url, { button: "allow", access: "full" });
  return { callback, code: callback.searchParams.get("code") ?? "", verifier };
}

/** POST /oauth/token with a form body (and extra headers, such as Basic client credentials). */
export async function tokenRequest(
  base: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ res: Response; json: Json }> {
  const res = await fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(params),
  });
  return { res, json: (await res.json()) as Json };
}

export function exchange(base: string, clientId: string, code: string, redirectUri: string, verifier: string) {
  return tokenRequest(base, {
    grant_type: "authorization_code",
    client_id: clientId,
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });
}

/** Authorize, consent and exchange: the tokens, expected to be issued. */
export async function connect(
  browser: Browser,
  clientId: string,
  redirectUri: string,
  params: Record<string, string | undefined> = {},
): Promise<Json> {
  const { code, verifier } = await authorizeCode(browser, clientId, redirectUri, params);
  const { res, json } = await exchange(browser.base, clientId, code, redirectUri, verifier);
  if (res.status !== 200) throw new Error(`code exchange failed: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** RFC 7662 introspection with an admin's API key. */
export async function introspect(base: string, adminKey: string, token: string): Promise<Json> {
  const res = await fetch(`${base}/oauth/introspect`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }),
  });
  return (await res.json()) as Json;
}
