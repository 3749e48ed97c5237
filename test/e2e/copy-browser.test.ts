import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { createTestApp, type TestApp } from "../helpers.ts";
import { makeClient, makeUser } from "../support/factories.ts";
import { chromiumForTests, launchChromium, submitSignIn } from "./chromium.ts";

// Copy buttons beside client IDs (assets/app.js copies the text of the element
// a data-copy button names): the clipboard then holds exactly the client ID.

const chromiumPath = chromiumForTests();
const password = "correct horse battery staple";
const email = "admin@example.com";

let app: TestApp;
let browser: Browser;
beforeAll(async () => {
  if (!chromiumPath) return;
  app = await createTestApp();
  await makeUser(app, { isAdmin: true, email, password });
  browser = await launchChromium(chromiumPath);
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe.skipIf(!chromiumPath)("copy buttons", () => {
  test("Copy client ID in a row of All OAuth clients puts that client's ID on the clipboard", async () => {
    const { client } = await makeClient(app, { name: "Copied app" });
    const context = await browser.newContext();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: app.url });
    const page = await context.newPage();
    await page.goto(`${app.url}/sign-in`);
    await submitSignIn(page, email, password);
    await page.goto(`${app.url}/admin/clients`);
    const row = page.locator(`tr[data-client-id="${client.id}"]`);
    await row.getByRole("button", { name: "Copy client ID" }).click();
    await row.getByRole("button", { name: "Copied" }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(client.id);
    await context.close();
  });
});
