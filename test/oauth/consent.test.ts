import { afterAll, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import type { OAuthClient } from "../../src/oauth/clients-store.ts";
import type { Browser } from "../helpers.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import {
  addClient,
  addUser,
  authorizePath,
  browserOf,
  challenge,
  locationOf,
  nowSeconds,
  openConsent,
  redirectUri,
} from "./authorize-fixture.ts";
import { advanceClock } from "../support/clock.ts";

// The consent page and POST /oauth/authorize: the decision, single use,
// binding to the session, and the code redirect (RFC 6749 §4.1.2, RFC 9207).

let app: TestApp;
let client: OAuthClient;
let userId: string;
let b: Browser;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  client = await addClient(app, {
    name: "<script>alert(1)</script> Claude",
    redirectUris: [redirectUri, "cursor://anysphere.cursor-mcp/oauth/callback"],
  });
  userId = await addUser(app);
  b = await browserOf(app, userId);
});
afterAll(() => {
  setSystemTime();
  return app.close();
});

/** The one built-in write tool: Full access needs at least one ticked. */
const writeTool = "gatehouse__revoke_connection";
const grantsOf = async (clientId: string) => {
  const { oauthGrants } = app.db.tables;
  return app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, clientId));
};
const pendingRow = async (id: string) => {
  const { oauthPendingRequests } = app.db.tables;
  return first(await app.db.select().from(oauthPendingRequests).where(eq(oauthPendingRequests.id, id)).limit(1));
};

/** Opens the consent page for a fresh client and answers it. */
async function answer(
  form: Record<string, string>,
  opts: { browser?: Browser; query?: Record<string, string | null> } = {},
) {
  const c = await addClient(app);
  const browser = opts.browser ?? b;
  const page = await openConsent(browser, authorizePath(c.id, opts.query));
  const res = await browser.post("/oauth/authorize", { csrf: page.csrf, request: page.request, ...form });
  return { c, page, res };
}

describe("the consent page", () => {
  test("shows the client's name as text, escaped", async () => {
    const { html } = await openConsent(b, authorizePath(client.id));
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt; Claude");
    expect(html).not.toContain("<script>alert(1)");
  });

  test("shows the host the user will be sent back to", async () => {
    const { html } = await openConsent(b, authorizePath(client.id));
    expect(html).toMatch(/id="redirect-host">[^<]*<strong>127\.0\.0\.1:33418<\/strong>/);
  });

  test("shows scheme and host for an app's own scheme", async () => {
    const { html } = await openConsent(
      b,
      authorizePath(client.id, { redirect_uri: "cursor://anysphere.cursor-mcp/oauth/callback" }),
    );
    expect(html).toContain("<strong>cursor://anysphere.cursor-mcp</strong>");
  });

  test("describes each requested scope in plain words", async () => {
    const { html } = await openConsent(b, authorizePath(client.id));
    expect(html).toContain('<li data-scope="mcp:read">List and call read-only tools</li>');
    expect(html).toContain('<li data-scope="mcp:write">Call tools that change things</li>');
  });

  test("offers Full (checked) and Read-only when write access is requested", async () => {
    const { html } = await openConsent(b, authorizePath(client.id));
    expect(html).toContain('<input type="radio" name="access" value="full" checked/>');
    expect(html).toContain('<input type="radio" name="access" value="read"/>');
  });

  test("offers only Read-only when only mcp:read is requested", async () => {
    const { html } = await openConsent(b, authorizePath(client.id, { scope: "mcp:read" }));
    expect(html).not.toContain('value="full"');
    expect(html).toContain('<input type="radio" name="access" value="read" checked/>');
  });

  test("offers only Read-only to a session opened with a read-only API key", async () => {
    const key = await createApiKey(app.db, {
      userId,
      name: "ro",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const { html } = await openConsent(await browserOf(app, userId, key.apiKey.id), authorizePath(client.id));
    expect(html).not.toContain('name="access" value="full"');
    expect(html).not.toContain('name="access" value="chosen"');
    expect(html).toContain("Read-only API key");
  });

  test("has Allow and Deny buttons", async () => {
    const { html } = await openConsent(b, authorizePath(client.id));
    expect(html).toContain('<button type="submit" name="decision" value="allow">Allow</button>');
    expect(html).toContain('name="decision" value="deny"');
  });

  test("creates a pending request bound to the session, expiring in 10 minutes", async () => {
    const { request } = await openConsent(b, authorizePath(client.id));
    const row = (await pendingRow(request))!;
    expect(row.sessionId).toBe(b.cookies.get("gatehouse_session")!.split("_")[0]!);
    expect(row.expiresAt - row.createdAt).toBe(600);
    expect(row).toMatchObject({ clientId: client.id, redirectUri, codeChallenge: challenge, state: "state-123" });
  });
});

describe("consent page headers", () => {
  test("cannot be framed", async () => {
    const { res } = await openConsent(b, authorizePath(client.id));
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });

  test("sends Referrer-Policy: no-referrer and Cache-Control: no-store", async () => {
    const { res } = await openConsent(b, authorizePath(client.id));
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("CSP form-action allows the redirect origin", async () => {
    const { res } = await openConsent(b, authorizePath(client.id, { redirect_uri: "http://127.0.0.1:41234/callback" }));
    expect(res.headers.get("content-security-policy")).toContain("form-action 'self' http://127.0.0.1:41234;");
  });

  test("CSP form-action allows an app's own scheme", async () => {
    const { res } = await openConsent(
      b,
      authorizePath(client.id, { redirect_uri: "cursor://anysphere.cursor-mcp/oauth/callback" }),
    );
    expect(res.headers.get("content-security-policy")).toContain("form-action 'self' cursor:;");
  });

  test("other pages keep form-action 'self' only", async () => {
    const res = await b.get("/keys");
    expect(res.headers.get("content-security-policy")).toContain("form-action 'self';");
  });
});

describe("the decision", () => {
  test("Deny redirects with access_denied, state and iss", async () => {
    const { res } = await answer({ decision: "deny", access: "full" });
    expect(res.status).toBe(302);
    const { url, query } = locationOf(res);
    expect(`${url.origin}${url.pathname}`).toBe(redirectUri);
    expect(query).toEqual({
      error: "access_denied",
      error_description: expect.any(String),
      state: "state-123",
      iss: app.url,
    });
  });

  test("Deny records no grant", async () => {
    const { c } = await answer({ decision: "deny", access: "full" });
    expect(await grantsOf(c.id)).toHaveLength(0);
  });

  test("Allow with Full redirects with a code, state and iss", async () => {
    const { res } = await answer({ decision: "allow", access: "full", tool: writeTool });
    expect(res.status).toBe(302);
    const { query } = locationOf(res);
    expect(query.code).toMatch(/^gate_code_[a-z2-7]{16}_[a-z2-7]{52}$/);
    expect(query.state).toBe("state-123");
    expect(query.iss).toBe(app.url);
    expect(query.error).toBeUndefined();
  });

  test("Allow with Full records a grant for mcp:read mcp:write", async () => {
    const { c } = await answer({ decision: "allow", access: "full", tool: writeTool });
    expect(await grantsOf(c.id)).toEqual([
      expect.objectContaining({ userId, scope: "mcp:read mcp:write", resource: `${app.url}/mcp`, apiKeyId: null }),
    ]);
  });

  test("the code is bound to the redirect URI, challenge, scope and resource", async () => {
    const { c, res } = await answer(
      { decision: "allow", access: "full", tool: writeTool },
      { query: { redirect_uri: "http://127.0.0.1:40001/callback" } },
    );
    const codeId = locationOf(res).query.code!.slice("gate_code_".length, "gate_code_".length + 16);
    const { oauthCodes } = app.db.tables;
    const row = first(await app.db.select().from(oauthCodes).where(eq(oauthCodes.id, codeId)).limit(1))!;
    expect(row).toMatchObject({
      clientId: c.id,
      redirectUri: "http://127.0.0.1:40001/callback",
      codeChallenge: challenge,
      scope: "mcp:read mcp:write",
      resource: `${app.url}/mcp`,
      usedAt: null,
    });
    expect(row.expiresAt - row.createdAt).toBe(app.config.authCodeTtlSeconds);
  });

  test("Allow with Read-only records a grant for mcp:read", async () => {
    const { c } = await answer({ decision: "allow", access: "read" });
    expect((await grantsOf(c.id)).map((g) => g.scope)).toEqual(["mcp:read"]);
  });

  test("Allow in a session opened with an API key records the key on the grant", async () => {
    const key = await createApiKey(app.db, {
      userId,
      name: "full key",
      access: "full",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const { c } = await answer(
      { decision: "allow", access: "full", tool: writeTool },
      { browser: await browserOf(app, userId, key.apiKey.id) },
    );
    expect(await grantsOf(c.id)).toEqual([
      expect.objectContaining({ apiKeyId: key.apiKey.id, scope: "mcp:read mcp:write" }),
    ]);
  });

  test("a read-only API key session posting Full gets the page again, and no grant", async () => {
    const key = await createApiKey(app.db, {
      userId,
      name: "ro key",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const { c, res } = await answer(
      { decision: "allow", access: "full", tool: writeTool },
      { browser: await browserOf(app, userId, key.apiKey.id) },
    );
    expect(res.status).toBe(400);
    expect(await grantsOf(c.id)).toEqual([]);
  });

  test("the code redirect keeps the redirect URI's own query", async () => {
    const c = await addClient(app, { redirectUris: ["https://app.example.com/cb?tenant=7"] });
    const page = await openConsent(b, authorizePath(c.id, { redirect_uri: "https://app.example.com/cb?tenant=7" }));
    const res = await b.post("/oauth/authorize", {
      csrf: page.csrf,
      request: page.request,
      decision: "allow",
      access: "full",
      tool: writeTool,
    });
    expect(res.headers.get("location")).toStartWith("https://app.example.com/cb?tenant=7&code=gate_code_");
  });

  for (const [decision, msg] of [
    ["allow", "consent given"],
    ["deny", "consent denied"],
  ] as const) {
    test(`${decision} is logged as "${msg}" with user and client ids only`, async () => {
      const { c } = await answer({ decision, access: "full", tool: writeTool });
      const line = app.logs.find((l) => l.msg === msg && l.client_id === c.id)!;
      const { time: _time, ...rest } = line;
      expect(rest).toEqual({ level: "info", msg, user_id: userId, client_id: c.id });
    });
  }
});

describe("refusals", () => {
  test("a second POST of the same request gets an error page and no second code", async () => {
    const { c, page } = await answer({ decision: "allow", access: "full", tool: writeTool });
    const again = await b.post("/oauth/authorize", {
      csrf: page.csrf,
      request: page.request,
      decision: "allow",
      access: "full",
      tool: writeTool,
    });
    expect(again.status).toBe(400);
    expect(again.headers.get("location")).toBeNull();
    const { oauthCodes } = app.db.tables;
    expect(await app.db.select().from(oauthCodes).where(eq(oauthCodes.clientId, c.id))).toHaveLength(1);
  });

  test("another session's pending request is refused and left in place", async () => {
    const page = await openConsent(b, authorizePath(client.id));
    const other = await browserOf(app, await addUser(app));
    const otherCsrf = (await openConsent(other, authorizePath(client.id))).csrf;
    const res = await other.post("/oauth/authorize", {
      csrf: otherCsrf,
      request: page.request,
      decision: "allow",
      access: "full",
      tool: writeTool,
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(await pendingRow(page.request)).not.toBeNull();
  });

  test("an expired pending request is refused", async () => {
    const c = await addClient(app);
    const page = await openConsent(b, authorizePath(c.id));
    advanceClock(601);
    try {
      const res = await b.post("/oauth/authorize", {
        csrf: page.csrf,
        request: page.request,
        decision: "allow",
        access: "full",
        tool: writeTool,
      });
      expect(res.status).toBe(400);
      expect(await grantsOf(c.id)).toHaveLength(0);
    } finally {
      setSystemTime();
    }
  });

  test("a post without the CSRF token is refused with 403 and changes nothing", async () => {
    const c = await addClient(app);
    const page = await openConsent(b, authorizePath(c.id));
    const res = await b.post("/oauth/authorize", {
      request: page.request,
      decision: "allow",
      access: "full",
      tool: writeTool,
    });
    expect(res.status).toBe(403);
    expect(await pendingRow(page.request)).not.toBeNull();
    expect(await grantsOf(c.id)).toHaveLength(0);
  });

  test("a post from a foreign origin is refused with 403", async () => {
    const page = await openConsent(b, authorizePath(client.id));
    const res = await b.post(
      "/oauth/authorize",
      { csrf: page.csrf, request: page.request, decision: "allow", access: "full", tool: writeTool },
      { origin: "https://evil.example" },
    );
    expect(res.status).toBe(403);
    expect(await pendingRow(page.request)).not.toBeNull();
  });

  test("a post after the session ended gets 401 and no code", async () => {
    const page = await openConsent(b, authorizePath(client.id));
    const signedOut = await browserOf(app, userId);
    signedOut.cookies.delete("gatehouse_session");
    signedOut.cookies.set("gatehouse_csrf", b.cookies.get("gatehouse_csrf")!);
    const res = await signedOut.post("/oauth/authorize", {
      csrf: page.csrf,
      request: page.request,
      decision: "allow",
      access: "full",
      tool: writeTool,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("location")).toBeNull();
  });

  test("an answer without a decision is refused and keeps the request", async () => {
    const page = await openConsent(b, authorizePath(client.id));
    const res = await b.post("/oauth/authorize", { csrf: page.csrf, request: page.request, access: "full" });
    expect(res.status).toBe(400);
    expect(await pendingRow(page.request)).not.toBeNull();
  });
});
