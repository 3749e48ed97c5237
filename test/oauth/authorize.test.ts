import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUser } from "../../src/accounts/users.ts";
import type { OAuthClient } from "../../src/oauth/clients-store.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import {
  addClient,
  addUser,
  authorizePath,
  browserOf,
  locationOf,
  nowSeconds,
  openConsent,
  redirectUri,
} from "./authorize-fixture.ts";

// GET /oauth/authorize: the two phases of request checking (RFC 6749 §4.1.1,
// §4.1.2.1), PKCE (RFC 7636), resource (RFC 8707), iss (RFC 9207), sign-in.

let app: TestApp;
let client: OAuthClient;
let b: Browser;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  client = await addClient(app, {
    redirectUris: [redirectUri, "http://localhost:8123/cb", "https://app.example.com/cb?tenant=7"],
  });
  b = await browserOf(app, await addUser(app));
});
afterAll(() => app.close());

const get = (overrides: Record<string, string | null>) => b.get(authorizePath(client.id, overrides));
const pendingRows = () => {
  const { oauthPendingRequests } = app.db.tables;
  return app.db.select().from(oauthPendingRequests);
};

describe("phase 1: an error page, never a redirect", () => {
  const cases: [string, () => Promise<Response>][] = [
    ["an unknown client_id", () => b.get(authorizePath("gate_client_nosuchclient"))],
    ["a missing client_id", () => b.get(authorizePath(client.id).replace(/client_id=[^&]*&?/, ""))],
    ["a redirect_uri the client did not register", () => get({ redirect_uri: "https://evil.example/callback" })],
    ["a missing redirect_uri", () => get({ redirect_uri: null })],
    ["a loopback redirect on another path", () => get({ redirect_uri: "http://127.0.0.1:5555/other" })],
    ["a loopback redirect on another loopback host", () => get({ redirect_uri: "http://localhost:33418/callback" })],
    ["an https redirect on another port", () => get({ redirect_uri: "https://app.example.com:8443/cb?tenant=7" })],
    ["a repeated client_id", () => b.get(`${authorizePath(client.id)}&client_id=${client.id}`)],
    [
      "a repeated redirect_uri",
      () => b.get(`${authorizePath(client.id)}&redirect_uri=${encodeURIComponent(redirectUri)}`),
    ],
  ];
  for (const [name, send] of cases) {
    test(`${name} gets a 400 HTML page without a Location`, async () => {
      const res = await send();
      expect(res.status).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      expect(res.headers.get("content-type")).toStartWith("text/html");
      expect(await res.text()).toContain("This app cannot connect");
    });
  }
});

describe("redirect URI matching", () => {
  for (const uri of ["http://127.0.0.1:50123/callback", "http://localhost:61000/cb"]) {
    test(`a loopback redirect on another port is accepted (field failure 4): ${uri}`, async () => {
      const { html } = await openConsent(b, authorizePath(client.id, { redirect_uri: uri }));
      expect(html).toContain("Allow");
    });
  }

  test("the pending request keeps the port the client asked for", async () => {
    const uri = "http://127.0.0.1:50999/callback";
    const { request } = await openConsent(b, authorizePath(client.id, { redirect_uri: uri }));
    expect((await pendingRows()).find((p) => p.id === request)?.redirectUri).toBe(uri);
  });
});

describe("scope", () => {
  test("unknown scope words are ignored: mcp:read offline_access asks for mcp:read", async () => {
    const { request } = await openConsent(b, authorizePath(client.id, { scope: "mcp:read offline_access" }));
    expect((await pendingRows()).find((p) => p.id === request)?.scope).toBe("mcp:read");
  });

  test("only unknown scope words mean the default scopes", async () => {
    const { request } = await openConsent(b, authorizePath(client.id, { scope: "openid profile" }));
    expect((await pendingRows()).find((p) => p.id === request)?.scope).toBe("mcp:read mcp:write");
  });
});

describe("phase 2: errors go back to the client with state and iss", () => {
  const cases: [string, Record<string, string | null>, string][] = [
    ["response_type=token", { response_type: "token" }, "unsupported_response_type"],
    ["a missing response_type", { response_type: null }, "invalid_request"],
    ["a missing code_challenge", { code_challenge: null }, "invalid_request"],
    ["code_challenge_method=plain", { code_challenge_method: "plain" }, "invalid_request"],
    ["a missing code_challenge_method (defaults to plain)", { code_challenge_method: null }, "invalid_request"],
    ["a code_challenge shorter than 43 characters", { code_challenge: "abc123" }, "invalid_request"],
    [
      "a code_challenge with characters outside RFC 7636",
      { code_challenge: `${"a".repeat(42)}+/=` },
      "invalid_request",
    ],
    ["a code_challenge longer than 128 characters", { code_challenge: "a".repeat(129) }, "invalid_request"],
    ["a foreign resource", { resource: "https://other.example/mcp" }, "invalid_target"],
  ];
  for (const [name, overrides, code] of cases) {
    test(`${name} redirects with ${code}`, async () => {
      const res = await get(overrides);
      expect(res.status).toBe(302);
      const { url, query } = locationOf(res);
      expect(`${url.origin}${url.pathname}`).toBe(redirectUri);
      expect(query.error).toBe(code);
      expect(query.error_description).toBeTruthy();
      expect(query.state).toBe("state-123");
      expect(query.iss).toBe(app.url);
    });
  }

  test("a repeated parameter redirects with invalid_request", async () => {
    const res = await b.get(`${authorizePath(client.id)}&scope=mcp:read`);
    expect(res.status).toBe(302);
    expect(locationOf(res).query).toMatchObject({ error: "invalid_request", state: "state-123", iss: app.url });
  });

  test("a resource below the MCP endpoint is invalid_target", async () => {
    const res = await get({ resource: `${app.url}/mcp/x` });
    expect(locationOf(res).query.error).toBe("invalid_target");
  });

  test("an error redirect without state carries no state", async () => {
    const { query } = locationOf(await get({ state: null, response_type: "token" }));
    expect(query.state).toBeUndefined();
    expect(query.iss).toBe(app.url);
  });

  test("an error redirect keeps the redirect URI's own query", async () => {
    const res = await get({ redirect_uri: "https://app.example.com/cb?tenant=7", response_type: "token" });
    const location = res.headers.get("location")!;
    expect(location).toStartWith("https://app.example.com/cb?tenant=7&");
    expect(locationOf(res).query).toMatchObject({ tenant: "7", error: "unsupported_response_type" });
  });

  test("errors are redirected before sign-in is asked for", async () => {
    const res = await new Browser(app.url, app.send).get(authorizePath(client.id, { response_type: "token" }));
    expect(res.status).toBe(302);
    expect(locationOf(res).url.origin).toBe("http://127.0.0.1:33418");
  });

  test("an error redirect creates no pending request", async () => {
    const before = (await pendingRows()).length;
    await get({ resource: "https://other.example/mcp" });
    expect((await pendingRows()).length).toBe(before);
  });
});

describe("defaults", () => {
  for (const [name, scope] of [
    ["an empty scope", ""],
    ["a missing scope", null],
  ] as const) {
    test(`${name} gets the default scopes on the consent page (field failure 9)`, async () => {
      const { html, request } = await openConsent(b, authorizePath(client.id, { scope }));
      expect(html).toContain('data-scope="mcp:read"');
      expect(html).toContain('data-scope="mcp:write"');
      expect((await pendingRows()).find((p) => p.id === request)?.scope).toBe("mcp:read mcp:write");
    });
  }

  test("mcp:write alone brings mcp:read with it", async () => {
    const { request } = await openConsent(b, authorizePath(client.id, { scope: "mcp:write" }));
    expect((await pendingRows()).find((p) => p.id === request)?.scope).toBe("mcp:read mcp:write");
  });

  test("a missing resource binds the request to the MCP resource (field failure 3)", async () => {
    const { request } = await openConsent(b, authorizePath(client.id));
    expect((await pendingRows()).find((p) => p.id === request)?.resource).toBe(`${app.url}/mcp`);
  });

  test("the exact MCP resource is accepted", async () => {
    const { request } = await openConsent(b, authorizePath(client.id, { resource: `${app.url}/mcp` }));
    expect((await pendingRows()).find((p) => p.id === request)?.resource).toBe(`${app.url}/mcp`);
  });

  test("the resource with a trailing slash binds the request to the MCP resource, stored without it", async () => {
    const { request } = await openConsent(b, authorizePath(client.id, { resource: `${app.url}/mcp/` }));
    expect((await pendingRows()).find((p) => p.id === request)?.resource).toBe(`${app.url}/mcp`);
  });
});

describe("signing in first", () => {
  const password = "correct horse battery staple";
  let email: string;
  beforeAll(async () => {
    email = `signin-${nowSeconds()}@example.com`;
    await createUser(app.db, {
      email,
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: false,
      now: nowSeconds(),
    });
  });

  test("signed out, a valid request is sent to sign-in with next set to the same request", async () => {
    const path = authorizePath(client.id);
    const res = await new Browser(app.url, app.send).get(path);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get("location")!, app.url);
    expect(location.pathname).toBe("/sign-in");
    expect(location.searchParams.get("next")).toBe(path);
  });

  test("after signing in the browser comes back to the same long request and sees the consent page", async () => {
    const path = authorizePath(client.id, { state: "s".repeat(1500), resource: `${app.url}/mcp` });
    const fresh = new Browser(app.url, app.send);
    const toSignIn = new URL((await fresh.get(path)).headers.get("location")!, app.url);
    const page = await fresh.get(toSignIn.pathname + toSignIn.search);
    const html = await page.text();
    const signIn = await fresh.post("/sign-in", {
      csrf: Browser.csrfOf(html),
      next: /name="next" value="([^"]*)"/.exec(html)![1]!,
      email,
      password,
    });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get("location")).toBe(path);
    const { request } = await openConsent(fresh, path);
    expect((await pendingRows()).find((p) => p.id === request)?.state).toBe("s".repeat(1500));
  });
});
