import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { createTestApp, type TestApp } from "../helpers.ts";
import { makeUser } from "../support/factories.ts";
import { chromiumForTests, clickAndLoad, launchChromium, submitSignIn } from "./chromium.ts";

// After a form post the server refuses, the page drawn again puts the focus on
// why (the error, just above the fields), so the keyboard and a screen reader
// start there rather than at the top of the page. Each form is submitted past
// the browser's own checks (noValidate), as a server-side refusal needs.

const chromiumPath = chromiumForTests();
const setupToken = "setup-token-for-focus-tests-0123456789";
const password = "correct horse battery staple";
const adminEmail = "admin@example.com";

let app: TestApp;
let browser: Browser;
beforeAll(async () => {
  if (!chromiumPath) return;
  app = await createTestApp({ setupToken });
  browser = await launchChromium(chromiumPath);
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** The focused element: its class and text. */
const focused = (page: Page) =>
  page.evaluate(() => ({
    className: document.activeElement?.className ?? "",
    text: document.activeElement?.textContent?.trim() ?? "",
  }));

/** Submits the form `selector` with the browser's own validation off, and waits for the next page. */
async function submitPastValidation(page: Page, selector: string, button: string) {
  await page.locator(selector).evaluate((form) => {
    (form as HTMLFormElement).noValidate = true;
  });
  await clickAndLoad(page, page.locator(selector).getByRole("button", { name: button }));
}

describe.skipIf(!chromiumPath)("focus after a refused form", () => {
  test("setup: a short password puts the focus on the error", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/setup?token=${setupToken}`);
    await page.getByLabel("Email").fill(adminEmail);
    await page.getByLabel(/Password/).fill("short");
    await submitPastValidation(page, "form[action='/setup']", "Create admin");
    expect(await focused(page)).toEqual({ className: "error", text: expect.stringContaining("password") });
    await context.close();
  });

  test("sign-in: a wrong password puts the focus on the error in the password form", async () => {
    await makeUser(app, { isAdmin: true, email: adminEmail, password });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/sign-in`);
    await submitSignIn(page, adminEmail, "not the password at all");
    expect(await focused(page)).toEqual({ className: "error", text: "Incorrect email or password." });
    await context.close();
  });

  test("creating a key: a blank name puts the focus on the error above the form", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/sign-in`);
    await submitSignIn(page, adminEmail, password);
    await page.goto(`${app.url}/keys`);
    await page.locator("#create-key").getByLabel("Name").fill("   ");
    await submitPastValidation(page, "#create-key", "Create key");
    expect(await focused(page)).toEqual({ className: "error", text: "Give the key a name." });
    await context.close();
  });

  test("inviting: an email that has an account puts the focus on the error in the invitation form", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/sign-in`);
    await submitSignIn(page, adminEmail, password);
    await page.goto(`${app.url}/admin/people`);
    await page.locator("#invite").getByLabel("Email").fill(adminEmail);
    await submitPastValidation(page, "#invite", "Create invitation link");
    expect(await focused(page)).toEqual({ className: "error", text: `${adminEmail} already has an account.` });
    expect(
      await page
        .locator("section", { has: page.locator("#invite") })
        .locator(".error")
        .count(),
    ).toBe(1);
    await context.close();
  });
});
