import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { oauthGrants, oauthPendingRequests } from "../../src/db/schema.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { startHttpUpstream, type HttpUpstream } from "../gateway/http-upstream.ts";
import { createTestApp, type Browser, type TestApp } from "../helpers.ts";
import { addClient, addUser, authorizePath, browserOf, locationOf, nowSeconds, openConsent } from "./authorize-fixture.ts";

// The write tools on the consent page: offered unticked under Full access,
// recorded on the grant as ticked, refused when unknown (RFC 6749 §4.1.1
// leaves what the user approves to the server; the refusals keep the request).

const store = "web__store";
const revoke = "gatehouse__revoke_connection";

let upstream: HttpUpstream;
let app: TestApp;
let userId: string;
let b: Browser;
beforeAll(async () => {
  upstream = startHttpUpstream();
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", `[[upstream]]\nname = "web"\nurl = "${upstream.url}"\n`, {}) });
  while (app.gateway!.statuses().some((s) => s.state !== "connected")) await Bun.sleep(20);
  userId = addUser(app);
  b = browserOf(app, userId);
});
afterAll(async () => {
  await app.close();
  upstream.stop();
});

const grantsOf = (clientId: string) => app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, clientId)).all();
const pendingRow = (id: string) => app.db.select().from(oauthPendingRequests).where(eq(oauthPendingRequests.id, id)).get();
const checkboxes = (html: string) => [...html.matchAll(/<input type="checkbox" name="tool" value="([^"]+)"([^>]*)>/g)].map((m) => ({ name: m[1], checked: /checked/.test(m[2]!) }));

/** Opens a fresh client's consent page and posts the answer, with `tools` as repeated `tool` fields. */
async function answer(fields: Record<string, string>, tools: string[] = [], browser = b) {
  const c = addClient(app);
  const page = await openConsent(browser, authorizePath(c.id));
  const body = new URLSearchParams({ csrf: page.csrf, request: page.request, ...fields });
  for (const tool of tools) body.append("tool", tool);
  const res = await browser.request("/oauth/authorize", {
    method: "POST",
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: app.url },
  });
  return { c, page, res };
}

describe("the consent page's write tools", () => {
  test("lists every write tool, built-in and upstream, unticked, and no read tool", async () => {
    const { html } = await openConsent(b, authorizePath(addClient(app).id));
    expect(checkboxes(html)).toEqual([
      { name: revoke, checked: false },
      { name: store, checked: false },
    ]);
    expect(html).toContain('<fieldset id="write-tools" class="write-tools">');
  });

  test("has no write tools when only mcp:read is requested", async () => {
    const { html } = await openConsent(b, authorizePath(addClient(app).id, { scope: "mcp:read" }));
    expect(html).not.toContain('id="write-tools"');
  });

  test("a session opened with a key limited to web__store offers only web__store", async () => {
    const key = createApiKey(app.db, { userId, name: "limited", access: "full", tools: [store], expiresInSeconds: null, now: nowSeconds() });
    const { html } = await openConsent(browserOf(app, userId, key.apiKey.id), authorizePath(addClient(app).id));
    expect(checkboxes(html).map((c) => c.name)).toEqual([store]);
    expect(html).toContain("limited to some write tools");
  });
});

describe("what the grant records", () => {
  test("Allow with Full and one tool ticked records exactly that tool", async () => {
    const { c, res } = await answer({ decision: "allow", access: "full" }, [store]);
    expect(locationOf(res).query.code).toStartWith("gate_code_");
    expect(grantsOf(c.id).map((g) => [g.scope, g.tools])).toEqual([["mcp:read mcp:write", [store]]]);
  });

  test("tools ticked twice are recorded once, in the page's order", async () => {
    const { c } = await answer({ decision: "allow", access: "full" }, [store, revoke, store]);
    expect(grantsOf(c.id)[0]!.tools).toEqual([revoke, store]);
  });

  test("Read-only records no tools, even when tools were posted", async () => {
    const { c, res } = await answer({ decision: "allow", access: "read" }, [store]);
    expect(res.status).toBe(302);
    expect(grantsOf(c.id).map((g) => [g.scope, g.tools])).toEqual([["mcp:read", []]]);
  });

  test("a read-only key's session posting Full and tools records Read-only and no tools", async () => {
    const key = createApiKey(app.db, { userId, name: "ro", access: "read", expiresInSeconds: null, now: nowSeconds() });
    const { c } = await answer({ decision: "allow", access: "full" }, [store], browserOf(app, userId, key.apiKey.id));
    expect(grantsOf(c.id).map((g) => [g.scope, g.tools])).toEqual([["mcp:read", []]]);
  });
});

describe("refusals keep the request pending", () => {
  test("an unknown tool name is refused with a page naming it, no grant and no redirect", async () => {
    const { c, page, res } = await answer({ decision: "allow", access: "full" }, [store, "evil__<b>tool</b>"]);
    const html = await res.text();
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(html).toContain("Gatehouse has no write tool named evil__&lt;b&gt;tool&lt;/b&gt;.");
    expect(grantsOf(c.id)).toHaveLength(0);
    expect(pendingRow(page.request)).toBeDefined();
  });

  test("a read tool posted as a write tool is refused too", async () => {
    const { c, res } = await answer({ decision: "allow", access: "full" }, ["web__lookup"]);
    expect(res.status).toBe(400);
    expect(grantsOf(c.id)).toHaveLength(0);
  });

  test("a tool beyond the session key's tools is refused", async () => {
    const key = createApiKey(app.db, { userId, name: "limited", access: "full", tools: [store], expiresInSeconds: null, now: nowSeconds() });
    const { c, res } = await answer({ decision: "allow", access: "full" }, [revoke], browserOf(app, userId, key.apiKey.id));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(`no write tool named ${revoke}`);
    expect(grantsOf(c.id)).toHaveLength(0);
  });

  test("Full with nothing ticked redraws the consent page with an error, for the same request", async () => {
    const { c, page, res } = await answer({ decision: "allow", access: "full" });
    const html = await res.text();
    expect(res.status).toBe(400);
    expect(html).toContain('role="alert"');
    expect(html).toContain("Tick the tools that change things");
    expect(html).toContain(`name="request" value="${page.request}"`);
    expect(res.headers.get("content-security-policy")).toContain("form-action 'self' http://127.0.0.1:33418");
    expect(grantsOf(c.id)).toHaveLength(0);
    expect(pendingRow(page.request)).toBeDefined();
  });

  test("after that redraw, ticking a tool and answering again is granted", async () => {
    const { c, page } = await answer({ decision: "allow", access: "full" });
    const body = new URLSearchParams({ csrf: page.csrf, request: page.request, decision: "allow", access: "full", tool: revoke });
    const res = await b.request("/oauth/authorize", { method: "POST", body: body.toString(), headers: { "content-type": "application/x-www-form-urlencoded", origin: app.url } });
    expect(res.status).toBe(302);
    expect(grantsOf(c.id).map((g) => g.tools)).toEqual([[revoke]]);
  });

  test("Deny needs no tools and records no grant", async () => {
    const { c, res } = await answer({ decision: "deny", access: "full" });
    expect(locationOf(res).query.error).toBe("access_denied");
    expect(grantsOf(c.id)).toHaveLength(0);
  });
});
