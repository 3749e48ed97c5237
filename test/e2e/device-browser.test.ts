import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { createUser } from "../../src/accounts/users.ts";
import { oauthPaths } from "../../src/oauth/paths.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, structured } from "../mcp/fixture.ts";
import { chromiumForTests, launchChromium, submitSignIn } from "./chromium.ts";

// RFC 8628 end to end: a client starts a device authorization and polls the
// token endpoint at the interval it was given, while a person in headless
// Chromium follows verification_uri_complete, signs in and approves. The
// tokens the poll gets then work on /mcp.

const chromiumPath = chromiumForTests();
const email = "grace@example.com";
const password = "correct horse battery staple";
const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code";
const writeTool = "gatehouse__revoke_connection";

// Real polling waits the real interval (5 seconds) between polls.
setDefaultTimeout(30_000);

let app: TestApp;
let browser: Browser;
beforeAll(async () => {
  if (chromiumPath === null) return;
  app = await createTestApp();
  await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: false,
    now: Math.floor(Date.now() / 1000),
  });
  browser = await launchChromium(chromiumPath);
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

interface Device {
  device_code: string;
  user_code: string;
  verification_uri_complete: string;
  interval: number;
}

type PollOutcome = { tokens: { access_token: string; refresh_token: string; scope: string }; errors: string[] };

/** Polls as RFC 8628 §3.5 says: wait the interval, add 5 seconds on slow_down, stop on anything but pending. */
async function pollUntilAnswered(clientId: string, device: Device): Promise<PollOutcome> {
  const errors: string[] = [];
  let interval = device.interval;
  for (let attempt = 0; attempt < 10; attempt++) {
    if (attempt > 0) await Bun.sleep(interval * 1000);
    const res = await fetch(`${app.url}${oauthPaths.token}`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: deviceGrantType, device_code: device.device_code, client_id: clientId }),
    });
    const body = await res.json();
    if (res.status === 200) return { tokens: body, errors };
    errors.push(body.error);
    if (body.error === "slow_down") interval += 5;
    else if (body.error !== "authorization_pending") break;
  }
  throw new Error(`polling ended without tokens: ${errors.join(", ")}`);
}

describe.skipIf(chromiumPath === null)("device authorization grant in a browser (RFC 8628)", () => {
  let clientId = "";
  let device: Device;
  let polling: Promise<PollOutcome>;
  let page: Page;

  test("a registered client gets a device code and starts polling", async () => {
    const registered = await fetch(`${app.url}${oauthPaths.register}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // A TV cannot receive a redirect: it registers for the device grant alone.
      body: JSON.stringify({
        client_name: "Living room TV",
        grant_types: ["urn:ietf:params:oauth:grant-type:device_code"],
        token_endpoint_auth_method: "none",
      }),
    });
    expect(registered.status).toBe(201);
    clientId = ((await registered.json()) as { client_id: string }).client_id;
    const res = await fetch(`${app.url}${oauthPaths.deviceAuthorization}`, {
      method: "POST",
      body: new URLSearchParams({ client_id: clientId }),
    });
    expect(res.status).toBe(200);
    device = (await res.json()) as Device;
    polling = pollUntilAnswered(clientId, device);
  });

  test("verification_uri_complete, opened signed out, lands on the sign-in page", async () => {
    page = await (await browser.newContext({ baseURL: app.url })).newPage();
    await page.goto(device.verification_uri_complete);
    expect(new URL(page.url()).pathname).toBe("/sign-in");
  });

  test("signing in returns to /device with the code filled in", async () => {
    await submitSignIn(page, email, password);
    expect(new URL(page.url()).pathname).toBe("/device");
    expect(await page.getByLabel("Code").inputValue()).toBe(device.user_code);
  });

  test("the code box is styled as every text box: as wide as its form, not the browser's bare default", async () => {
    const code = await page.getByLabel("Code").boundingBox();
    const form = await page.locator('form[action="/device"]').boundingBox();
    expect(code!.width).toBeGreaterThan(form!.width * 0.9);
  });

  test("Continue shows the consent page naming the client, with no redirect target", async () => {
    const loaded = page.waitForEvent("load");
    await page.getByRole("button", { name: "Continue", exact: true }).click();
    await loaded;
    expect(await page.locator("#consent h1 strong").textContent()).toBe("Living room TV");
    expect(await page.locator("#device-note").count()).toBe(1);
    expect(await page.locator("#redirect-host").count()).toBe(0);
  });

  test("Allow with only one write tool ticked says the device is connected", async () => {
    await page.getByRole("radio", { name: /^Full, only the write tools I tick:/ }).check();
    await page.locator(`input[name="tool"][value="${writeTool}"]`).check();
    const loaded = page.waitForEvent("load");
    await page.getByRole("button", { name: "Allow", exact: true }).click();
    await loaded;
    expect(await page.locator("h1").textContent()).toBe("Device connected");
  });

  test("the polling client gets tokens after authorization_pending", async () => {
    const { tokens, errors } = await polling;
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e === "authorization_pending")).toBe(true);
    expect(tokens.scope).toBe("mcp:read mcp:write");
    expect(tokens.access_token).toMatch(/^gate_at_/);
  });

  test("the access token works on /mcp: whoami names the person, the client and the ticked tool", async () => {
    const { tokens } = await polling;
    const client = await connectClient(app, tokens.access_token);
    const result = await client.callTool({ name: "gatehouse__whoami", arguments: {} });
    expect(result.isError).toBeFalsy();
    const who = structured(result);
    expect([who.email, who.via, who.name, who.write_tools]).toEqual([
      email,
      "connection",
      "Living room TV",
      [writeTool],
    ]);
    await client.close();
  });
});
