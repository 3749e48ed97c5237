import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createUser } from "../../src/accounts/users.ts";
import { first } from "../../src/db/transaction.ts";
import { randomString } from "../../src/security/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { chromiumForTests, clickAndLoad, launchChromium, submitSignIn } from "./chromium.ts";

// A person's first day with Gatehouse, driven through headless Chromium
// against the real server: forms, redirects, cookies, CSP and app.js included.

const chromiumPath = chromiumForTests();
const adminEmail = "admin@example.com";
const password = "correct horse battery staple";
const keyPattern = /^gate_key_[a-z2-7]{16}_[a-z2-7]{52}$/;
const screenshotPath = "/tmp/gatehouse-keys.png";

// Each step drives a real browser over real HTTP; the first also starts Chromium.
setDefaultTimeout(30_000);

let app: TestApp;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (chromiumPath === null) return;
  app = await createTestApp({ setupToken: randomString(20) });
  browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function newPage(permissions: string[] = []): Promise<Page> {
  const context = await browser.newContext({ baseURL: app.url });
  if (permissions.length) await context.grantPermissions(permissions, { origin: app.url });
  contexts.push(context);
  return context.newPage();
}

const pathOf = (page: Page) => new URL(page.url()).pathname;
const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });
const occurrences = (haystack: string, needle: string) => haystack.split(needle).length - 1;

async function signInWithPassword(page: Page, email: string): Promise<void> {
  await page.goto("/sign-in");
  await submitSignIn(page, email, password);
}

async function signInWithKey(page: Page, token: string): Promise<void> {
  await page.goto("/sign-in");
  await page.getByLabel("Or paste an API key").fill(token);
  await clickAndLoad(page, button(page, "Sign in with API key"));
}

async function createKey(page: Page, name: string, access: "Read-only" | "Full"): Promise<void> {
  await page.goto("/keys");
  const form = page.locator("form#create-key");
  await form.getByLabel("Name").fill(name);
  await form.getByRole("radio", { name: new RegExp(`^${access}:`) }).check();
  await clickAndLoad(page, form.getByRole("button", { name: "Create key" }));
}

describe.skipIf(chromiumPath === null)("a person in a browser", () => {
  let page: Page;
  let token = "";
  let keyId = "";
  const keyRow = (p: Page) => p.locator(`#keys tr[data-key-id="${keyId}"]`);

  test("the setup link creates the first admin and lands on /keys", async () => {
    page = await newPage(["clipboard-read", "clipboard-write"]);
    await page.goto(`/setup?token=${app.setupToken}`);
    await page.getByLabel("Email").fill(adminEmail);
    await page.getByLabel(/^Password/).fill(password);
    await clickAndLoad(page, button(page, "Create admin"));
    expect(pathOf(page)).toBe("/keys");
    expect(await page.locator("header .who").textContent()).toBe(adminEmail);
  });

  test("signing out, then in with email and password, lands on /keys", async () => {
    await clickAndLoad(page, button(page, "Sign out"));
    expect(pathOf(page)).toBe("/sign-in");
    await signInWithPassword(page, adminEmail);
    expect(pathOf(page)).toBe("/keys");
  });

  test("a new Full key is shown exactly once, in input#new-key", async () => {
    await createKey(page, "ci", "Full");
    token = await page.locator("input#new-key").inputValue();
    expect(token).toMatch(keyPattern);
    keyId = token.slice("gate_key_".length, "gate_key_".length + 16);
    expect(occurrences(await page.content(), token)).toBe(1);
  });

  test("the Copy button copies the key and says Copied", async () => {
    await button(page, "Copy").click();
    await button(page, "Copied").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
  });

  test("the keys list shows the name and identifier but never the secret", async () => {
    const listed = page.waitForResponse((r) => new URL(r.url()).pathname === "/keys" && r.request().method() === "GET");
    await clickAndLoad(page, page.getByRole("link", { name: "Back to API keys" }));
    const cells = keyRow(page).locator("td");
    expect(await cells.nth(0).textContent()).toBe("ci");
    expect(await cells.nth(1).textContent()).toBe(keyId);
    expect(await cells.nth(2).textContent()).toBe("Full");
    const secret = token.slice("gate_key_".length + 17);
    for (const html of [await (await listed).text(), await page.content()]) {
      expect(html).not.toContain(token);
      expect(html).not.toContain(secret);
    }
    await page.screenshot({ path: screenshotPath, fullPage: true });
  });

  test("pasting the key on the sign-in page opens a session on /keys", async () => {
    const { sessions } = app.db.tables;
    await clickAndLoad(page, button(page, "Sign out"));
    await signInWithKey(page, token);
    expect(pathOf(page)).toBe("/keys");
    expect(await app.db.select().from(sessions).where(eq(sessions.apiKeyId, keyId))).toHaveLength(1);
  });

  test("revoking the key from a second browser removes its row there", async () => {
    const other = await newPage();
    await signInWithPassword(other, adminEmail);
    await clickAndLoad(other, keyRow(other).getByRole("link", { name: "Revoke" }));
    await clickAndLoad(other, button(other, "Revoke key"));
    expect(pathOf(other)).toBe("/keys");
    expect(await keyRow(other).count()).toBe(0);
  });

  test("the session opened with the revoked key has ended", async () => {
    await page.reload();
    expect(pathOf(page)).toBe("/sign-in");
    expect(await page.getByRole("heading", { name: "Sign in" }).count()).toBe(1);
  });

  test("the revoked key no longer signs in", async () => {
    await signInWithKey(page, token);
    expect(await page.getByRole("alert").textContent()).toBe("That API key is not valid.");
    expect(pathOf(page)).toStartWith("/sign-in");
    expect(await page.getByLabel("Or paste an API key").count()).toBe(1);
  });

  test("the database holds the key as revoked, with no sessions left", async () => {
    const { apiKeys, sessions } = app.db.tables;
    const row = first(await app.db.select().from(apiKeys).where(eq(apiKeys.id, keyId)).limit(1));
    expect(row?.revokedAt).toBeNumber();
    expect(await app.db.select().from(sessions).where(eq(sessions.apiKeyId, keyId))).toEqual([]);
  });
});

describe.skipIf(chromiumPath === null)("markup in a key name", () => {
  const name = "<script>alert(1)</script><img src=x onerror=alert(2)>";

  test("is shown as text in the keys table and runs nothing", async () => {
    const { apiKeys } = app.db.tables;
    const email = "mallory@example.com";
    const user = await createUser(app.db, {
      email,
      password,
      passwordCost: app.config.passwordHashCost,
      isAdmin: false,
      now: Math.floor(Date.now() / 1000),
    });
    const page = await newPage();
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await signInWithPassword(page, email);
    await createKey(page, name, "Read-only");
    expect(await page.locator("h1").textContent()).toContain(name);
    await page.goto("/keys");
    const [key] = await app.db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, user.id), eq(apiKeys.name, name)));
    const cell = page.locator(`#keys tr[data-key-id="${key!.id}"] td`).first();
    expect(await cell.textContent()).toBe(name);
    expect(await page.locator("main script, main img").count()).toBe(0);
    expect(dialogs).toEqual([]);
  });
});
