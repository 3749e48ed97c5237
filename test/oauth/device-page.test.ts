import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { consentBody, consentFields } from "../e2e/consent-form.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { addUser, authorizePath, browserOf } from "./authorize-fixture.ts";
import { deviceRow, startDeviceFlow } from "./device-fixture.ts";
import { makeClient, nowSeconds, redirectUri } from "./token-fixture.ts";

// RFC 8628 §3.3: the page where a signed-in person types the user code, and
// the consent page that follows. Real HTTP, forms posted as a browser would.

const revoke = "gatehouse__revoke_connection";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());

const grantsOf = async (clientId: string) => {
  const { oauthGrants } = app.db.tables;
  return app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, clientId));
};

/** A signed-in browser holding the CSRF cookie and token of the code entry page. */
async function signedInBrowser(apiKeyId: string | null = null) {
  const userId = await addUser(app);
  const b = await browserOf(app, userId, apiKeyId);
  const page = await b.get("/device");
  return { b, userId, csrf: Browser.csrfOf(await page.text()) };
}

/** Enters a user code; answers the consent page that should follow. */
async function enterCode(b: Browser, csrf: string, userCode: string) {
  const res = await b.post("/device", { csrf, user_code: userCode });
  return { res, html: await res.text() };
}

async function answerConsent(b: Browser, html: string, choice: Parameters<typeof consentFields>[1]) {
  const body = consentBody(consentFields(html, choice, "/device/consent"));
  const res = await b.request("/device/consent", {
    method: "POST",
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(b.base).origin },
  });
  return { res, html: await res.text() };
}

describe("the code entry page", () => {
  test("signed out, /device sends the browser to sign in and back, code included", async () => {
    const res = await new Browser(app.url, app.send).get("/device?user_code=BCDF-GHJK");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/sign-in?next=${encodeURIComponent("/device?user_code=BCDF-GHJK")}`);
  });

  test("verification_uri_complete fills the code in, escaped, and the page is not cached", async () => {
    const { b } = await signedInBrowser();
    const res = await b.get(`/device?user_code=${encodeURIComponent('BCDF"><x')}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    // Inside a quoted attribute only the quote can break out, and it is escaped.
    expect(html).toContain('value="BCDF&#34;><x"');
    expect(html).not.toContain('value="BCDF"');
  });

  test("a post without the CSRF token is refused with 403", async () => {
    const { b } = await signedInBrowser();
    const res = await b.post("/device", { user_code: "BCDF-GHJK" });
    expect(res.status).toBe(403);
  });

  test("a wrong code redraws the page with 400 and an error, and is audited", async () => {
    const { b, csrf, userId } = await signedInBrowser();
    const { res, html } = await enterCode(b, csrf, "ZZZZ-ZZZZ");
    expect(res.status).toBe(400);
    expect(html).toContain('role="alert"');
    expect(html).toContain('value="ZZZZ-ZZZZ"');
    await app.audit.drain();
    const { auditEvents } = app.db.tables;
    const rows = await app.db
      .select({ event: auditEvents.event, outcome: auditEvents.outcome })
      .from(auditEvents)
      .where(eq(auditEvents.userId, userId));
    expect(rows).toEqual([{ event: "user_code_failed", outcome: "denied" }]);
  });

  test("after 10 wrong codes a session is throttled with 429, even for a right code", async () => {
    const { client } = await makeClient(app);
    const flow = await startDeviceFlow(app, client.id);
    const { b, csrf } = await signedInBrowser();
    for (let i = 0; i < 10; i++) expect((await enterCode(b, csrf, "ZZZZ-ZZZZ")).res.status).toBe(400);
    const { res } = await enterCode(b, csrf, flow.user_code);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await deviceRow(app, flow.device_code)).status).toBe("pending");
  });

  test("15 wrong codes sent at once from one session: 10 answered 400, 5 refused 429", async () => {
    const { b, csrf } = await signedInBrowser();
    // Each attempt waits for the lookup: the wrong code must count before that wait, or all 15 pass.
    const answers = await Promise.all(Array.from({ length: 15 }, () => enterCode(b, csrf, "ZZZZ-ZZZZ")));
    const statuses = answers.map((a) => a.res.status);
    expect(statuses.filter((s) => s === 400)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
  });

  test("right codes give their place back: 12 right codes in a session are all answered", async () => {
    const { client } = await makeClient(app);
    const flow = await startDeviceFlow(app, client.id);
    const { b, csrf } = await signedInBrowser();
    for (let i = 0; i < 12; i++) expect((await enterCode(b, csrf, flow.user_code)).res.status).toBe(200);
    expect((await enterCode(b, csrf, "ZZZZ-ZZZZ")).res.status).toBe(400);
  });

  test("an expired code is refused like a wrong one", async () => {
    const { client } = await makeClient(app);
    const flow = await startDeviceFlow(app, client.id);
    const { oauthDeviceCodes } = app.db.tables;
    await app.db
      .update(oauthDeviceCodes)
      .set({ expiresAt: nowSeconds() - 1 })
      .where(eq(oauthDeviceCodes.id, (await deviceRow(app, flow.device_code)).id));
    const { b, csrf } = await signedInBrowser();
    expect((await enterCode(b, csrf, flow.user_code)).res.status).toBe(400);
  });
});

describe("answering a device's request", () => {
  test("a code typed in lower case without the dash opens the consent page posting to /device/consent", async () => {
    const { client } = await makeClient(app, { name: "Kitchen display" });
    const flow = await startDeviceFlow(app, client.id);
    const { b, csrf } = await signedInBrowser();
    const { res, html } = await enterCode(b, csrf, flow.user_code.replace("-", "").toLowerCase());
    expect(res.status).toBe(200);
    expect(html).toContain('action="/device/consent"');
    expect(html).toContain("Kitchen display");
    expect(html).toContain('id="write-tools"');
  });

  test("the consent page shows the user code, formatted, to compare with the device's", async () => {
    const { client } = await makeClient(app);
    const flow = await startDeviceFlow(app, client.id);
    const { b, csrf } = await signedInBrowser();
    const { html } = await enterCode(b, csrf, flow.user_code.replace("-", "").toLowerCase());
    expect(html).toContain(`Check that your device shows <strong class="user-code">${flow.user_code}</strong>`);
  });

  test("an authorization's consent page (not a device's) shows no user code", async () => {
    const { client } = await makeClient(app);
    const { b } = await signedInBrowser();
    const res = await b.get(authorizePath(client.id, { redirect_uri: redirectUri }));
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain('id="user-code"');
  });

  test("Allow as served approves the code with Full access: every write tool", async () => {
    const { client } = await makeClient(app);
    const flow = await startDeviceFlow(app, client.id);
    const { b, csrf } = await signedInBrowser();
    const { html } = await enterCode(b, csrf, flow.user_code);
    const answered = await answerConsent(b, html, { button: "allow" });
    expect(answered.res.status).toBe(200);
    expect((await grantsOf(client.id)).map((g) => [g.scope, g.tools])).toEqual([["mcp:read mcp:write", null]]);
  });

  test("Allow with only one tool ticked approves the code with a grant holding exactly that tool", async () => {
    const { client } = await makeClient(app);
    const flow = await startDeviceFlow(app, client.id);
    const { b, csrf, userId } = await signedInBrowser();
    const { html } = await enterCode(b, csrf, flow.user_code);
    const answered = await answerConsent(b, html, { button: "allow", tools: [revoke] });
    expect(answered.res.status).toBe(200);
    const row = await deviceRow(app, flow.device_code);
    expect(row.status).toBe("approved");
    expect((await grantsOf(client.id)).map((g) => [g.id, g.userId, g.scope, g.tools])).toEqual([
      [row.grantId!, userId, "mcp:read mcp:write", [revoke]],
    ]);
  });

  test("only ticked tools with none ticked redraws the consent page with 400 and leaves the code pending", async () => {
    const { client } = await makeClient(app);
    const flow = await startDeviceFlow(app, client.id);
    const { b, csrf } = await signedInBrowser();
    const { html } = await enterCode(b, csrf, flow.user_code);
    const answered = await answerConsent(b, html, { button: "allow", access: "chosen", tools: [] });
    expect(answered.res.status).toBe(400);
    expect(answered.html).toContain('action="/device/consent"');
    expect((await deviceRow(app, flow.device_code)).status).toBe("pending");
  });

  test("Deny marks the code denied and makes no grant", async () => {
    const { client } = await makeClient(app);
    const flow = await startDeviceFlow(app, client.id);
    const { b, csrf } = await signedInBrowser();
    const { html } = await enterCode(b, csrf, flow.user_code);
    const answered = await answerConsent(b, html, { button: "deny" });
    expect(answered.res.status).toBe(200);
    expect((await deviceRow(app, flow.device_code)).status).toBe("denied");
    expect(await grantsOf(client.id)).toEqual([]);
  });

  test("a second answer to an answered code is refused with 400", async () => {
    const { client } = await makeClient(app);
    const flow = await startDeviceFlow(app, client.id);
    const { b, csrf } = await signedInBrowser();
    const { html } = await enterCode(b, csrf, flow.user_code);
    await answerConsent(b, html, { button: "allow", access: "read" });
    const again = await answerConsent(b, html, { button: "deny" });
    expect(again.res.status).toBe(400);
    expect((await deviceRow(app, flow.device_code)).status).toBe("approved");
  });

  test("a session opened with a read-only API key is offered Read-only, and Full posted anyway is refused", async () => {
    const { client } = await makeClient(app);
    const flow = await startDeviceFlow(app, client.id);
    const userId = await addUser(app);
    const key = await createApiKey(app.db, {
      userId,
      name: "ro",
      access: "read",
      tools: [],
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const b = await browserOf(app, userId, key.apiKey.id);
    const csrf = Browser.csrfOf(await (await b.get("/device")).text());
    const { html } = await enterCode(b, csrf, flow.user_code);
    expect(html).not.toContain('id="write-tools"');
    const fields = { ...consentFields(html, { button: "allow" }, "/device/consent"), access: "full", tool: revoke };
    const res = await b.request("/device/consent", {
      method: "POST",
      body: consentBody(fields).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(b.base).origin },
    });
    expect(res.status).toBe(400);
    expect(await grantsOf(client.id)).toEqual([]);
    expect((await deviceRow(app, flow.device_code)).status).toBe("pending");
    const read = await answerConsent(b, html, { button: "allow" });
    expect(read.res.status).toBe(200);
    expect((await grantsOf(client.id)).map((g) => [g.scope, g.apiKeyId, g.tools])).toEqual([
      ["mcp:read", key.apiKey.id, []],
    ]);
  });

  test("a consent post without the CSRF token is refused with 403", async () => {
    const { b } = await signedInBrowser();
    const res = await b.post("/device/consent", { request: "BCDF-GHJK", decision: "deny" });
    expect(res.status).toBe(403);
  });
});
