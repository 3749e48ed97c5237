import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { first } from "../../src/db/transaction.ts";
import { eq } from "drizzle-orm";
import type { Browser, Page } from "playwright-core";
import { createUser } from "../../src/accounts/users.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { chromiumForTests, clickAndLoad, launchChromium, submitSignIn } from "./chromium.ts";

// An admin invites a colleague from the People page; the colleague opens the
// link in their own browser, chooses a password and lands signed in.

const chromiumPath = chromiumForTests();
const adminEmail = "admin@example.com";
const inviteeEmail = "colleague@example.com";
const password = "correct horse battery staple";
const linkPattern = /\/invite\/gate_inv_[a-z2-7]{16}_[a-z2-7]{52}$/;

setDefaultTimeout(30_000);

let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  if (chromiumPath === null) return;
  app = await createTestApp();
  await createUser(app.db, {
    email: adminEmail,
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

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ baseURL: app.url });
  return context.newPage();
}

const pathOf = (page: Page) => new URL(page.url()).pathname;
const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });

describe.skipIf(chromiumPath === null)("inviting a colleague", () => {
  let admin: Page;
  let link = "";

  test("the admin creates an invitation on the People page and sees the link once", async () => {
    admin = await newPage();
    await admin.goto("/sign-in");
    await submitSignIn(admin, adminEmail, password);
    await clickAndLoad(admin, admin.getByRole("link", { name: "People" }));
    expect(pathOf(admin)).toBe("/admin/people");
    const form = admin.locator("form#invite");
    await form.getByLabel("Email").fill(inviteeEmail);
    await clickAndLoad(admin, form.getByRole("button", { name: "Create invitation link" }));
    link = await admin.locator("input#invitation-link").inputValue();
    expect(link).toStartWith(app.url);
    expect(link).toMatch(linkPattern);
  });

  test("the pending invitation is listed without its link", async () => {
    await clickAndLoad(admin, admin.getByRole("link", { name: "Back to people" }));
    const row = admin.locator("#invitations tbody tr");
    expect(await row.count()).toBe(1);
    expect(await row.locator("td").first().textContent()).toBe(inviteeEmail);
    expect(await admin.content()).not.toContain(link.split("/invite/")[1]!);
  });

  test("the colleague opens the link, sets a password and lands signed in on /keys", async () => {
    const { invitations, users } = app.db.tables;
    const page = await newPage();
    await page.goto(link);
    expect(await page.getByRole("heading", { name: "Join Gatehouse" }).count()).toBe(1);
    expect(await page.getByLabel("Email").inputValue()).toBe(inviteeEmail);
    await page.getByLabel(/^Password/).fill(password);
    await clickAndLoad(page, button(page, "Create account"));
    expect(pathOf(page)).toBe("/keys");
    expect(await page.locator("header .who").textContent()).toBe(inviteeEmail);
    const user = first(await app.db.select().from(users).where(eq(users.email, inviteeEmail)).limit(1));
    expect(user?.isAdmin).toBe(false);
    expect(first(await app.db.select().from(invitations).limit(1))?.userId).toBe(user!.id);
  });

  test("the link no longer works", async () => {
    const page = await newPage();
    const res = await page.goto(link);
    expect(res?.status()).toBe(404);
    expect(await page.getByRole("heading", { name: "Invitation not valid" }).count()).toBe(1);
  });

  test("the admin sees the colleague among the people", async () => {
    await admin.reload();
    expect(await admin.locator("#people tbody tr", { hasText: inviteeEmail }).count()).toBe(1);
    expect(await admin.locator("#no-invitations").count()).toBe(1);
  });
});
