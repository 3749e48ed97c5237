import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { createUser } from "../../src/accounts/users.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { chromiumForTests, clickAndLoad, launchChromium } from "./chromium.ts";

// An admin's Read-only CI key pasted on the sign-in page, in headless
// Chromium (issue 10, point 3): the session is no more than the key. It is
// offered Read-only keys only, a Full key posted anyway is refused, and the
// admin pages say they need a password or identity-provider sign-in.

const chromiumPath = chromiumForTests();
setDefaultTimeout(30_000);

let app: TestApp;
let browser: Browser;
let token = "";
beforeAll(async () => {
  if (chromiumPath === null) return;
  app = await createTestApp();
  const admin = await createUser(app.db, {
    email: "root@example.com",
    password: "correct horse battery staple",
    passwordCost: app.config.passwordHashCost,
    isAdmin: true,
    now: Math.floor(Date.now() / 1000),
  });
  token = (
    await createApiKey(app.db, {
      userId: admin.id,
      name: "ci",
      access: "read",
      expiresInSeconds: null,
      now: Math.floor(Date.now() / 1000),
    })
  ).token;
  browser = await launchChromium(chromiumPath);
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function fullKeys() {
  const { apiKeys } = app.db.tables;
  return await app.db.select().from(apiKeys).where(eq(apiKeys.scope, "mcp:read mcp:write"));
}

describe.skipIf(chromiumPath === null)("a session opened with an admin's Read-only key", () => {
  let page: Page;

  test("pasting the key signs in; the keys page says what the key limits and has no admin links", async () => {
    page = await (await browser.newContext({ baseURL: app.url })).newPage();
    await page.goto("/sign-in");
    await page.getByLabel("Or paste an API key").fill(token);
    await clickAndLoad(page, page.getByRole("button", { name: "Sign in with API key", exact: true }));
    expect(new URL(page.url()).pathname).toBe("/keys");
    expect(await page.locator("#key-session").textContent()).toContain('You signed in with the API key "ci"');
    expect(await page.getByRole("link", { name: "People" }).count()).toBe(0);
    await page.screenshot({ path: "/tmp/gatehouse-key-session-desktop.png", fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: "/tmp/gatehouse-key-session-phone.png", fullPage: true });
  });

  test("the create form offers Read-only alone", async () => {
    const form = page.locator("form#create-key");
    expect(await form.getByRole("radio").count()).toBe(1);
    expect(await form.getByRole("radio", { name: /^Read-only:/ }).isChecked()).toBe(true);
  });

  test("a Full key posted anyway (the form edited in the page) is refused with the form's error", async () => {
    const form = page.locator("form#create-key");
    await form.getByLabel("Name").fill("escalated");
    await form
      .getByRole("radio", { name: /^Read-only:/ })
      .evaluate((radio: HTMLInputElement) => (radio.value = "full"));
    await clickAndLoad(page, form.getByRole("button", { name: "Create key" }));
    expect(await page.getByRole("alert").textContent()).toBe("Choose an access level: Read-only.");
    expect(await fullKeys()).toEqual([]);
  });

  test.each(["/admin/people", "/admin/service-accounts", "/admin/audit"])(
    "%s is refused with the reason",
    async (path) => {
      const res = await page.goto(path);
      expect(res!.status()).toBe(403);
      expect(await page.locator("main").textContent()).toContain(
        "Admin pages need a sign-in with a password or an identity provider, not an API key",
      );
    },
  );
});
