import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { createUser } from "../../src/accounts/users.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, structured } from "../mcp/fixture.ts";
import { chromiumForTests, clickAndLoad, launchChromium, submitSignIn } from "./chromium.ts";

// An admin creates a service account for CI in Chromium, limited to one write
// tool; the CI job then gets a token with client_credentials and calls /mcp.

const chromiumPath = chromiumForTests();
const email = "admin@example.com";
const password = "correct horse battery staple";

setDefaultTimeout(30_000);

let app: TestApp;
let browser: Browser;
let page: Page;
let clientId = "";
let secret = "";

beforeAll(async () => {
  if (chromiumPath === null) return;
  app = await createTestApp();
  await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: true,
    now: Math.floor(Date.now() / 1000),
  });
  browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe.skipIf(chromiumPath === null)("a service account for CI", () => {
  test("the admin creates it with Full access and one ticked write tool, and sees its secret once", async () => {
    page = await (await browser.newContext({ baseURL: app.url })).newPage();
    await page.goto("/sign-in");
    await submitSignIn(page, email, password);
    await clickAndLoad(page, page.getByRole("link", { name: "Service accounts" }));
    await page.getByLabel("Name").fill("ci-deploy");
    await page.getByRole("radio", { name: /^Full, only the write tools I tick:/ }).check();
    await page.locator('input[name="tool"][value="gatehouse__revoke_connection"]').check();
    await clickAndLoad(page, page.getByRole("button", { name: "Create service account" }));
    expect(await page.locator("h1").textContent()).toBe("Service account ci-deploy created");
    clientId = await page.locator("#client-id").inputValue();
    secret = await page.locator("#client-secret").inputValue();
    expect([clientId, secret]).toEqual([expect.stringMatching(/^gate_client_/), expect.stringMatching(/^gate_cs_/)]);
  });

  test("the list shows it with its one write tool and no secret", async () => {
    await page.goto("/admin/service-accounts");
    const row = page.locator("#service-accounts tbody tr");
    expect(await row.locator("td").first().textContent()).toBe("ci-deploy");
    expect(await row.locator(".write-tools-granted").textContent()).toBe("gatehouse__revoke_connection");
    expect(await page.content()).not.toContain(secret);
  });

  test("the CI job gets a token with client_credentials and whoami names the account", async () => {
    const res = await fetch(`${app.url}/oauth/token`, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`${clientId}:${secret}`)}` },
      body: new URLSearchParams({ grant_type: "client_credentials" }),
    });
    const body = (await res.json()) as { access_token: string };
    expect(res.status).toBe(200);
    const client = await connectClient(app, body.access_token);
    const who = structured(await client.callTool({ name: "gatehouse__whoami", arguments: {} }));
    expect([who.email, who.name, who.write_tools]).toEqual([
      "ci-deploy@service.invalid",
      "ci-deploy",
      ["gatehouse__revoke_connection"],
    ]);
    await client.close();
  });

  test("after a call, the list shows when it was last used", async () => {
    await page.goto("/admin/service-accounts");
    expect(await page.locator("#service-accounts .last-used").textContent()).not.toBe("Never");
  });

  test("Disable stops new tokens at once", async () => {
    await clickAndLoad(page, page.getByRole("link", { name: "Disable" }));
    await clickAndLoad(page, page.getByRole("button", { name: "Disable service account" }));
    expect(await page.locator("#service-accounts .status").textContent()).toBe("Disabled");
    const res = await fetch(`${app.url}/oauth/token`, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`${clientId}:${secret}`)}` },
      body: new URLSearchParams({ grant_type: "client_credentials" }),
    });
    expect(res.status).toBe(400);
  });
});
