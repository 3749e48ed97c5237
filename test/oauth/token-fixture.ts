// Shared setup for the token, revocation and introspection tests: users,
// clients and codes made directly in the database (test/support/factories.ts),
// and raw HTTP requests.
import type { TestApp } from "../helpers.ts";
import { makeClient, makeConnection, makeUser, redirectUri, verifier } from "../support/factories.ts";

export { nowSeconds } from "../support/clock.ts";
export { challenge, makeClient, makeUser, redirectUri, verifier } from "../support/factories.ts";
/** A connection and its code, for the token endpoint's tests. */
export const makeCode = makeConnection;
export const accessPattern = /^gate_at_[a-z2-7]{16}_[a-z2-7]{52}$/;
export const refreshPattern = /^gate_rt_[a-z2-7]{16}_[a-z2-7]{52}$/;

/** POSTs form parameters (pairs, so a test can repeat one) to an OAuth endpoint. */
export function postForm(
  app: TestApp,
  path: string,
  params: [string, string][] | Record<string, string>,
  headers: Record<string, string> = {},
) {
  const body = new URLSearchParams(params as Record<string, string>).toString();
  return app.request(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
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
  const res = await postForm(app, "/oauth/token", {
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
    client_id: clientId,
  });
  if (res.status !== 200) throw new Error(`exchange failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as TokenBody;
}

export function refreshRequest(
  app: TestApp,
  clientId: string,
  refreshToken: string,
  extra: Record<string, string> = {},
) {
  return postForm(app, "/oauth/token", {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: clientId,
    ...extra,
  });
}

/** A fresh user, public client and token pair. */
export async function connected(app: TestApp, opts: { scope?: string } = {}) {
  const user = await makeUser(app);
  const { client } = await makeClient(app);
  const { authorization, code } = await makeCode(app, { userId: user.id, clientId: client.id, scope: opts.scope });
  const tokens = await exchangeCode(app, client.id, code);
  return { user, client, authorization, tokens };
}
