import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import Provider from "oidc-provider";
import { createTestApp, type Browser, type TestApp } from "../helpers.ts";
import type { IdentityProviderConfig } from "../../src/identity/config.ts";

// A real OpenID Connect provider (panva's oidc-provider) on a loopback port,
// with its development login form, which accepts any login: the login typed
// is the account id, and `accounts` says which claims that account has.

export interface AccountClaims {
  email?: string;
  email_verified?: boolean;
}

export interface TestOp {
  /** The issuer the provider says it is. */
  issuer: string;
  accounts: Map<string, AccountClaims>;
  /** How many times its discovery document was fetched. */
  discoveryRequests(): number;
  close(): Promise<void>;
}

export const opClientId = "gatehouse-test";
export const opClientSecret = "op-client-secret-for-tests";

/** Starts the provider; `issuer` defaults to its own loopback URL (another string makes discovery disagree). */
export async function startOp(opts: { redirectUris: string[]; issuer?: (url: string) => string }): Promise<TestOp> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  let discoveries = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === "/.well-known/openid-configuration") discoveries++;
    handler!(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const issuer = opts.issuer ? opts.issuer(url) : url;
  const accounts = new Map<string, AccountClaims>();
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: opClientId,
        client_secret: opClientSecret,
        redirect_uris: opts.redirectUris,
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    claims: { openid: ["sub"], email: ["email", "email_verified"] },
    cookies: { keys: ["oidc-provider-test-cookie-key"] },
    features: { devInteractions: { enabled: true } },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, ...accounts.get(id) }) }),
    // Every client is trusted: no consent screen, only the login form.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
  });
  handler = provider.callback();
  return {
    issuer,
    accounts,
    discoveryRequests: () => discoveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The provider's login form on a page: its action and hidden fields. */
function loginForm(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form on the provider's page: ${html.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields[m[1]!] = m[2]!;
  return { action: action.replace(/&amp;/g, "&"), fields };
}

/**
 * Follows the flow from Gatehouse's redirect to the provider, logs in as
 * `login` and stops at the redirect back to Gatehouse's callback; returns that URL.
 */
export async function loginAtOp(browser: Browser, authorizeUrl: string, login: string): Promise<string> {
  let res = await browser.request(authorizeUrl);
  for (let hops = 0; hops < 10; hops++) {
    const location = res.headers.get("location");
    if (location) {
      const next = new URL(location, res.url || authorizeUrl).href;
      if (next.startsWith(browser.base)) return next;
      res = await browser.request(next);
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`provider answered ${res.status}: ${html.slice(0, 300)}`);
    const form = loginForm(html);
    const action = new URL(form.action, res.url).href;
    res = await browser.request(action, {
      method: "POST",
      form: { ...form.fields, login, password: "anything" },
      headers: { origin: new URL(action).origin },
    });
  }
  throw new Error("too many redirects at the provider");
}

export function oidcProvider(op: TestOp, overrides: Partial<IdentityProviderConfig> = {}): IdentityProviderConfig {
  return {
    id: "test-op",
    type: "oidc",
    name: "Test OP",
    issuer: op.issuer,
    clientId: opClientId,
    clientSecret: opClientSecret,
    allowedDomains: [],
    allowedOrgs: [],
    signup: "invite",
    githubUrl: "https://github.com",
    githubApiUrl: "https://api.github.com",
    ...overrides,
  };
}

/** Gatehouse on a port fixed in advance, so its callback URLs can be registered at the provider first. */
export async function gatehouseWith(port: number, providers: IdentityProviderConfig[]): Promise<TestApp> {
  return createTestApp({ port, identityProviders: providers });
}
