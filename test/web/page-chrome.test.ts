import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { consentBody, consentFields } from "../e2e/consent-form.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { addClient, authorizePath, browserOf } from "../oauth/authorize-fixture.ts";
import { startDeviceFlow } from "../oauth/device-fixture.ts";
import { makeUser } from "../support/factories.ts";

// The pages a person reaches from an app or a device (sign-in, consent, the
// device pages) carry a minimal header: the brand, who is signed in and Sign
// out, never the console's links. The console's own pages keep the full nav.

let app: TestApp;
let admin: Browser;
const email = "admin@example.com";
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  admin = await browserOf(app, (await makeUser(app, { isAdmin: true, email })).id);
});
afterAll(() => app.close());

/** The page's header element, as served. */
function headerOf(html: string): string {
  const header = /<header>([\s\S]*?)<\/header>/.exec(html)?.[1];
  if (header === undefined) throw new Error(`no header on the page:\n${html.slice(0, 1000)}`);
  return header;
}

/** What a minimal header must hold for a signed-in admin, and what it must not. */
function expectMinimal(html: string) {
  const header = headerOf(html);
  expect(header).toContain('class="brand"');
  expect(header).toContain(email);
  expect(header).toContain('action="/sign-out"');
  expect(header).not.toContain("<nav");
  expect(header).not.toContain('href="/admin/people"');
  expect(header).not.toContain('href="/keys"');
}

/** The device flow up to its consent page, for a new client. */
async function deviceConsent() {
  const client = await addClient(app, { name: "Kitchen display" });
  const flow = await startDeviceFlow(app, client.id);
  const csrf = Browser.csrfOf(await (await admin.get("/device")).text());
  const res = await admin.post("/device", { csrf, user_code: flow.user_code });
  return { res, html: await res.text(), flow };
}

describe("minimal header", () => {
  test("the consent page of an authorization has no admin nav, only who is signed in and Sign out", async () => {
    const client = await addClient(app);
    const res = await admin.get(authorizePath(client.id));
    expect(res.status).toBe(200);
    expectMinimal(await res.text());
  });

  test("the device code entry page has the minimal header", async () => {
    const res = await admin.get("/device");
    expect(res.status).toBe(200);
    expectMinimal(await res.text());
  });

  test("the device's consent page has the minimal header", async () => {
    const { res, html } = await deviceConsent();
    expect(res.status).toBe(200);
    expect(html).toContain('action="/device/consent"');
    expectMinimal(html);
  });

  test("'Device connected' has the minimal header and a link onward to the connected apps", async () => {
    const { html } = await deviceConsent();
    const body = consentBody(consentFields(html, { button: "allow" }, "/device/consent"));
    const res = await admin.request("/device/consent", {
      method: "POST",
      body: body.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(app.url).origin },
    });
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toContain("Device connected");
    expectMinimal(page);
    expect(page).toContain('href="/keys#connected-apps"');
  });

  test("the sign-in page has the brand and no nav", async () => {
    const header = headerOf(await (await new Browser(app.url, app.send).get("/sign-in")).text());
    expect(header).toContain('class="brand"');
    expect(header).not.toContain("<nav");
  });

  test("the console's pages keep the full nav", async () => {
    const header = headerOf(await (await admin.get("/keys")).text());
    expect(header).toContain("<nav");
    expect(header).toContain('href="/admin/people"');
    expect(header).toContain(email);
  });
});
