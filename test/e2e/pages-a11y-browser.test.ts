import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createInvitation } from "../../src/accounts/invitations.ts";
import { createServiceAccount } from "../../src/accounts/service-accounts.ts";
import { mcpResourceUrl } from "../../src/oauth/resource.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { rpc } from "../mcp/fixture.ts";
import { nowSeconds } from "../support/clock.ts";
import { makeClient, makeConnection, makeKey, makeUser } from "../support/factories.ts";
import { chromiumForTests, launchChromium, submitSignIn } from "./chromium.ts";

// Every page a signed-in admin opens, and the sign-in page, in headless
// Chromium at a phone's width (390 px) and a desktop's (1280 px), in the light
// and the dark colour scheme, with rows in every table: axe-core finds no serious or critical problem (WCAG 2.1 A and
// AA rules among them), and on the phone nothing is wider than the screen (a
// table wider than it scrolls inside its own region, which the keyboard can
// reach).

const chromiumPath = chromiumForTests();
const password = "correct horse battery staple";
const signedInPages = [
  "/keys",
  "/clients",
  "/activity",
  "/admin/clients",
  "/admin/people",
  "/admin/service-accounts",
  "/admin/upstreams",
  "/admin/audit",
  "/device",
];

let app: TestApp;
let browser: Browser;
beforeAll(async () => {
  if (!chromiumPath) return;
  app = await createTestApp();
  const admin = await makeUser(app, { isAdmin: true, email: "admin.with.a.long.address@example.com", password });
  const other = await makeUser(app, { email: "someone.else@example.com" });
  const { token } = makeKey(app, admin.id, "full", "deploy from the build server");
  makeKey(app, other.id, "read");
  const { client } = makeClient(app, { name: "Claude (a client with a long name)" });
  makeConnection(app, { userId: admin.id, clientId: client.id });
  createInvitation(app.db, { email: "new.person@example.com", isAdmin: false, createdBy: admin.id, now: nowSeconds() });
  const resource = mcpResourceUrl(app.url);
  createServiceAccount(app.db, { name: "ci-deploy", access: "full", tools: null, resource, now: nowSeconds() });
  // Audit rows: tool calls of this key.
  for (let i = 0; i < 3; i++) {
    const call = { jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "gatehouse__whoami", arguments: {} } };
    await (await rpc(app, token, call, { "mcp-protocol-version": "2025-06-18" })).arrayBuffer();
  }
  await app.audit.flush();
  browser = await launchChromium(chromiumPath);
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

type Scheme = "light" | "dark";

/** A browser context at `width` in the system colour scheme `scheme`, signed in as the admin. */
async function signedIn(width: number, colorScheme: Scheme): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width, height: 800 }, colorScheme });
  const page = await context.newPage();
  await page.goto(`${app.url}/sign-in`);
  await submitSignIn(page, "admin.with.a.long.address@example.com", password);
  return { context, page };
}

/** axe-core's serious and critical findings on the page, one line each. */
async function seriousProblems(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.nodes.length}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe.skipIf(!chromiumPath)("every page, at a phone's width and a desktop's, light and dark", () => {
  const runs: [number, Scheme][] = [
    [390, "light"],
    [1280, "light"],
    [390, "dark"],
    [1280, "dark"],
  ];
  for (const [width, colorScheme] of runs) {
    const wide = width === 390 ? ", nothing wider than the screen" : "";
    test(`at ${width} px, ${colorScheme}: no serious accessibility problem${wide}`, async () => {
      const found: Record<string, string[]> = {};
      const tooWide: Record<string, number> = {};
      const anonymous = await browser.newContext({ viewport: { width, height: 800 }, colorScheme });
      const signInPage = await anonymous.newPage();
      await signInPage.goto(`${app.url}/sign-in`);
      found["/sign-in"] = await seriousProblems(signInPage);
      await anonymous.close();
      const { context, page } = await signedIn(width, colorScheme);
      for (const path of signedInPages) {
        const response = await page.goto(app.url + path);
        expect(`${path} ${response?.status()}`).toBe(`${path} 200`);
        found[path] = await seriousProblems(page);
        const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
        if (scrollWidth > width) tooWide[path] = scrollWidth;
      }
      await context.close();
      expect(Object.entries(found).filter(([, problems]) => problems.length > 0)).toEqual([]);
      expect(tooWide).toEqual({});
    }, 60_000);
  }

  test("the first Tab reaches 'Skip to content', which takes the keyboard past the header", async () => {
    const { context, page } = await signedIn(1280, "light");
    await page.goto(`${app.url}/keys`);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    await context.close();
  });

  test("no column header is empty: a column of buttons is named for screen readers", async () => {
    const { context, page } = await signedIn(1280, "light");
    const empty: string[] = [];
    for (const path of signedInPages) {
      await page.goto(app.url + path);
      const count = await page.locator("th").evaluateAll((ths) => ths.filter((th) => !th.textContent?.trim()).length);
      if (count > 0) empty.push(`${path}: ${count}`);
    }
    await context.close();
    expect(empty).toEqual([]);
  });

  test("dark mode changes the page's colours (the system setting is followed)", async () => {
    const colours: Record<string, string> = {};
    for (const colorScheme of ["light", "dark"] as const) {
      const context = await browser.newContext({ colorScheme });
      const page = await context.newPage();
      await page.goto(`${app.url}/sign-in`);
      colours[colorScheme] = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      await context.close();
    }
    expect(colours.light).toBe("rgb(245, 246, 248)");
    expect(colours.dark).toBe("rgb(20, 23, 28)");
  });
});
