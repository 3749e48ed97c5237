import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { first } from "../../src/db/transaction.ts";
import { eq } from "drizzle-orm";
import { type Browser, createTestApp, freePort, tempDir, type TestApp } from "../helpers.ts";
import {
  authorizeCode,
  authorizeUrl,
  connect,
  exchange,
  introspect,
  openApp,
  register,
  registerPublic,
  signedIn,
  tokenRequest,
} from "./field-failures-fixture.ts";

// Black-box conformance for the authorization server's share of the "real
// failures seen in the field" (docs/field-failures.md), over real HTTP, driven the way
// each named client drives it. Failure 2 and the /mcp half of 8 belong to the
// MCP endpoint and are tested with it.

let app: TestApp;
let browser: Browser;
let adminKey: string;
beforeAll(async () => {
  app = await createTestApp();
  ({ browser, adminKey } = await signedIn(app));
});
afterAll(() => app.close());

const discoveryPaths = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"];
const getJson = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(app.url + path, { headers });
  return { res, json: (await res.json()) as Record<string, unknown> };
};
async function grantOf(clientId: string) {
  const { oauthGrants } = app.db.tables;
  return await app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, clientId));
}

describe("1. issuer differs by a trailing slash", () => {
  test.each(discoveryPaths)(
    "1. oauth4webapi compares issuers byte for byte: %s names the public URL with no trailing slash",
    async (path) => {
      const { res, json } = await getJson(path);
      expect(res.status).toBe(200);
      expect(json.issuer).toBe(app.url);
      expect(String(json.issuer).endsWith("/")).toBe(false);
      expect(json.authorization_endpoint).toBe(`${app.url}/oauth/authorize`);
    },
  );

  test("1. oauth4webapi checks iss on the redirect (RFC 9207): a code and an error both carry the issuer's exact bytes", async () => {
    const redirectUri = "http://127.0.0.1:33418/callback";
    const clientId = await registerPublic(app.url, "Strict client", [redirectUri]);
    const { callback } = await authorizeCode(browser, clientId, redirectUri);
    expect(callback.searchParams.get("iss")).toBe(app.url);

    const { url } = await authorizeUrl(app.url, {
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: "token",
    });
    const res = await browser.get(url.pathname + url.search);
    expect(res.status).toBe(302);
    const error = new URL(res.headers.get("location")!);
    expect(error.searchParams.get("error")).toBe("unsupported_response_type");
    expect(error.searchParams.get("iss")).toBe(app.url);
  });

  test("1. an operator who configures the public URL with a trailing slash still publishes a slash-free issuer", async () => {
    const dataDir = tempDir();
    const port = freePort();
    const server = await openApp(dataDir, port, `http://127.0.0.1:${port}/`);
    try {
      for (const path of discoveryPaths) {
        const json = (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as Record<string, unknown>;
        expect(json.issuer).toBe(`http://127.0.0.1:${port}`);
      }
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("3. client sends no resource", () => {
  const redirectUri = "http://localhost:45123/callback";

  test("3. Claude Code sends no resource: the token is bound to <public>/mcp", async () => {
    const clientId = await registerPublic(app.url, "Claude Code (resource)", [redirectUri]);
    const tokens = await connect(browser, clientId, redirectUri, { resource: undefined });
    expect((await grantOf(clientId)).map((g) => g.resource)).toEqual([`${app.url}/mcp`]);
    expect(await introspect(app.url, adminKey, String(tokens.access_token))).toMatchObject({
      active: true,
      aud: `${app.url}/mcp`,
    });
  });

  test("3. Claude Code names the resource only at the token endpoint: the exchange succeeds", async () => {
    const clientId = await registerPublic(app.url, "Claude Code (token resource)", [redirectUri]);
    const { code, verifier } = await authorizeCode(browser, clientId, redirectUri);
    const { res } = await tokenRequest(app.url, {
      grant_type: "authorization_code",
      client_id: clientId,
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      resource: `${app.url}/mcp`,
    });
    expect(res.status).toBe(200);
  });

  test("3. a client naming a foreign resource is sent back with invalid_target, state and iss", async () => {
    const clientId = await registerPublic(app.url, "Claude Code (foreign)", [redirectUri]);
    const { url } = await authorizeUrl(app.url, {
      client_id: clientId,
      redirect_uri: redirectUri,
      resource: "https://elsewhere.example/mcp",
    });
    const res = await browser.get(url.pathname + url.search);
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get("location")!);
    expect(Object.fromEntries(back.searchParams)).toMatchObject({
      error: "invalid_target",
      state: "st-1",
      iss: app.url,
    });
  });
});

describe("4. loopback redirect on a random port", () => {
  test("4. Claude Code registered :3000 and comes back on :54321: consent page, code to :54321, exchange succeeds", async () => {
    const clientId = await registerPublic(app.url, "Claude Code (ports)", ["http://127.0.0.1:3000/callback"]);
    const redirectUri = "http://127.0.0.1:54321/callback";
    const { url } = await authorizeUrl(app.url, { client_id: clientId, redirect_uri: redirectUri });
    const page = await browser.get(url.pathname + url.search);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="consent"');
    expect(html).not.toContain("This app cannot connect");

    const { callback, code, verifier } = await authorizeCode(browser, clientId, redirectUri);
    expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri);
    expect(callback.searchParams.get("state")).toBe("st-1");
    expect((await exchange(app.url, clientId, code, "http://127.0.0.1:3000/callback", verifier)).json.error).toBe(
      "invalid_grant",
    );
    const { res, json } = await exchange(app.url, clientId, code, redirectUri, verifier);
    expect(res.status).toBe(200);
    expect(json.access_token).toMatch(/^gate_at_/);
  });

  test("4. VS Code registered http://127.0.0.1/ with no port and comes back on :49152/: a code is issued", async () => {
    const { oauthCodes } = app.db.tables;
    const clientId = await registerPublic(app.url, "VS Code (ports)", [
      "https://vscode.dev/redirect",
      "http://127.0.0.1/",
    ]);
    const tokens = await connect(browser, clientId, "http://127.0.0.1:49152/");
    expect(tokens.access_token).toMatch(/^gate_at_/);
    const code = first(await app.db.select().from(oauthCodes).where(eq(oauthCodes.clientId, clientId)).limit(1));
    expect(code?.redirectUri).toBe("http://127.0.0.1:49152/");
  });

  test("4. a loopback redirect with another path stays on the error page (phase 1), never redirected", async () => {
    const clientId = await registerPublic(app.url, "Claude Code (path)", ["http://127.0.0.1:3000/callback"]);
    const { url } = await authorizeUrl(app.url, {
      client_id: clientId,
      redirect_uri: "http://127.0.0.1:54321/elsewhere",
    });
    const res = await browser.get(url.pathname + url.search);
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(await res.text()).toContain("This app cannot connect");
  });
});

describe("5. DCR with native-app and vendor redirects", () => {
  test.each([
    ["Cursor", "cursor://anysphere.cursor-mcp/oauth/callback"],
    ["VS Code", "https://vscode.dev/redirect"],
  ])("5. %s registers %s: 201 and the URI is stored", async (name, uri) => {
    const { oauthClients } = app.db.tables;
    const { res, json } = await register(app.url, {
      client_name: `${name} (register)`,
      redirect_uris: [uri],
      token_endpoint_auth_method: "none",
    });
    expect(res.status).toBe(201);
    expect(json.redirect_uris).toEqual([uri]);
    const row = first(
      await app.db
        .select()
        .from(oauthClients)
        .where(eq(oauthClients.id, String(json.client_id)))
        .limit(1),
    );
    expect(JSON.parse(row!.redirectUris)).toEqual([uri]);
  });

  test("5. Cursor is sent its code on cursor://anysphere.cursor-mcp/oauth/callback and exchanges it", async () => {
    const redirectUri = "cursor://anysphere.cursor-mcp/oauth/callback";
    const clientId = await registerPublic(app.url, "Cursor (flow)", [redirectUri]);
    const { callback, code, verifier } = await authorizeCode(browser, clientId, redirectUri);
    expect(callback.href.startsWith(`${redirectUri}?`)).toBe(true);
    expect((await exchange(app.url, clientId, code, redirectUri, verifier)).res.status).toBe(200);
  });
});

describe("6. invalid_client after a restart", () => {
  test("6. a client registered before a restart is still known to the token endpoint after it", async () => {
    const dataDir = tempDir();
    const port = freePort();
    const redirectUri = "http://127.0.0.1:33418/callback";
    let server = await openApp(dataDir, port);
    try {
      const clientId = await registerPublic(server.url, "Claude (restart)", [redirectUri]);
      const { code, verifier } = await authorizeCode((await signedIn(server)).browser, clientId, redirectUri);
      await server.stop();
      server = await openApp(dataDir, port);
      const { res, json } = await exchange(server.url, clientId, code, redirectUri, verifier);
      expect(json.error).toBeUndefined();
      expect(res.status).toBe(200);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("6. an unknown client_id at the token endpoint is 401 invalid_client, so the client registers again", async () => {
    const { res, json } = await exchange(
      app.url,
      "gate_client_unknownunknown",
      "gate_code_x",
      "http://127.0.0.1:33418/callback",
      "v".repeat(43),
    );
    expect(res.status).toBe(401);
    expect(json.error).toBe("invalid_client");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("7. two refreshes with the same token at once", () => {
  const redirectUri = "https://claude.ai/api/mcp/auth_callback";
  let clientId: string;
  let winner: Record<string, unknown>;

  test("7. claude.ai refreshes from two addresses at once: both get 200 and the same new pair", async () => {
    clientId = await registerPublic(app.url, "claude.ai (race)", [redirectUri]);
    const tokens = await connect(browser, clientId, redirectUri);
    const refresh = { grant_type: "refresh_token", client_id: clientId, refresh_token: String(tokens.refresh_token) };
    const [a, b] = await Promise.all([tokenRequest(app.url, refresh), tokenRequest(app.url, refresh)]);
    expect([a.res.status, b.res.status]).toEqual([200, 200]);
    expect(a.json.refresh_token).toBe(b.json.refresh_token!);
    expect(a.json.access_token).toBe(b.json.access_token!);
    expect(a.json.refresh_token).not.toBe(tokens.refresh_token!);
    winner = a.json;
  });

  test("7. claude.ai is not logged out: the new refresh token works and the grant stays live", async () => {
    const { res } = await tokenRequest(app.url, {
      grant_type: "refresh_token",
      client_id: clientId,
      refresh_token: String(winner.refresh_token),
    });
    expect(res.status).toBe(200);
    expect((await grantOf(clientId)).map((g) => g.revokedAt)).toEqual([null]);
    expect(await introspect(app.url, adminKey, String(winner.access_token))).toMatchObject({ active: true });
  });
});

describe("8. discovery without CORS or behind the auth check (the /mcp half is with the MCP endpoint)", () => {
  test.each(discoveryPaths)(
    "8. the MCP Inspector in a browser reads %s: 200 with Access-Control-Allow-Origin *",
    async (path) => {
      const { res } = await getJson(path, { origin: "http://localhost:6274" });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
    },
  );

  test.each(discoveryPaths)("8. a client that sends a stale bearer token to %s gets 200, never 401", async (path) => {
    const { res, json } = await getJson(path, { authorization: "Bearer gate_at_stale_token" });
    expect(res.status).toBe(200);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(json.issuer).toBe(app.url);
  });

  test.each(discoveryPaths)("8. the MCP Inspector's preflight for %s is 204 with CORS", async (path) => {
    const res = await fetch(app.url + path, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:6274",
        "access-control-request-method": "GET",
        "access-control-request-headers": "mcp-protocol-version",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")).toContain("mcp-protocol-version");
  });
});

describe("9. ChatGPT sends an empty scope", () => {
  const redirectUri = "https://chatgpt.com/connector_platform_oauth_redirect";

  test("9. ChatGPT's scope= gets the consent page for the default scopes, with Full offered", async () => {
    const { oauthPendingRequests } = app.db.tables;
    const clientId = await registerPublic(app.url, "ChatGPT (page)", [redirectUri]);
    const { url } = await authorizeUrl(app.url, { client_id: clientId, redirect_uri: redirectUri, scope: "" });
    const res = await browser.get(url.pathname + url.search);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('data-scope="mcp:read"');
    expect(html).toContain('data-scope="mcp:write"');
    expect(html).toContain('value="full"');
    const pending = first(
      await app.db.select().from(oauthPendingRequests).where(eq(oauthPendingRequests.clientId, clientId)).limit(1),
    );
    expect(pending?.scope).toBe("mcp:read mcp:write");
  });

  test("9. ChatGPT's scope= approved: the grant and the token carry mcp:read mcp:write", async () => {
    const clientId = await registerPublic(app.url, "ChatGPT (grant)", [redirectUri]);
    const tokens = await connect(browser, clientId, redirectUri, { scope: "" });
    expect(tokens.scope).toBe("mcp:read mcp:write");
    expect((await grantOf(clientId)).map((g) => g.scope)).toEqual(["mcp:read mcp:write"]);
  });

  test("9. ChatGPT's refresh with scope= keeps the granted scopes, not invalid_scope", async () => {
    const clientId = await registerPublic(app.url, "ChatGPT (refresh)", [redirectUri]);
    const tokens = await connect(browser, clientId, redirectUri, { scope: "" });
    const { res, json } = await tokenRequest(app.url, {
      grant_type: "refresh_token",
      client_id: clientId,
      refresh_token: String(tokens.refresh_token),
      scope: "",
    });
    expect(res.status).toBe(200);
    expect(json.scope).toBe("mcp:read mcp:write");
  });
});

describe("10. claude.ai's CIMD precondition", () => {
  test.each(discoveryPaths)(
    "10. claude.ai uses CIMD only when %s has client_id_metadata_document_supported and none",
    async (path) => {
      const { json } = await getJson(path);
      expect(json.client_id_metadata_document_supported).toBe(true);
      expect(json.token_endpoint_auth_methods_supported).toContain("none");
    },
  );
});

describe("11. clients register again on every connect", () => {
  const body = (name: string) => ({
    client_name: name,
    redirect_uris: ["http://localhost:60100/callback"],
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
  });
  async function rowsNamed(name: string) {
    const { oauthClients } = app.db.tables;
    return await app.db.select().from(oauthClients).where(eq(oauthClients.name, name));
  }

  test("11. Claude Code registering the same public client twice gets the same client_id and leaves one row", async () => {
    const a = await register(app.url, body("Claude Code (twice)"));
    const b = await register(app.url, body("Claude Code (twice)"));
    expect([a.res.status, b.res.status]).toEqual([201, 201]);
    expect(b.json.client_id).toBe(a.json.client_id!);
    expect(await rowsNamed("Claude Code (twice)")).toHaveLength(1);
  });

  test("11. Claude Code registering again after it connected keeps the same client_id and its tokens", async () => {
    const first = await register(app.url, body("Claude Code (after use)"));
    const clientId = String(first.json.client_id);
    const tokens = await connect(browser, clientId, "http://localhost:60100/callback");
    const again = await register(app.url, body("Claude Code (after use)"));
    expect(again.json.client_id).toBe(clientId);
    expect(await rowsNamed("Claude Code (after use)")).toHaveLength(1);
    expect(await introspect(app.url, adminKey, String(tokens.access_token))).toMatchObject({ active: true });
  });
});
