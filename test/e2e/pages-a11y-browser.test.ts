import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, Page } from "playwright-core";
import { chromiumForTests, launchChromium } from "./chromium.ts";
import { roles, schemes, startTour, viewports, type Role, type Scheme, type Tour, type Viewport } from "./page-tour.ts";

// Every page of the tour (page-tour.ts: signed out, member, admin, and a
// member signed in with an API key), in headless Chromium at a phone's size
// (390×844) and a laptop's (1280×800), in the light and the dark colour
// scheme, with rows in every table: axe-core finds no serious or critical
// problem, and no page is wider than the screen (a table wider than it
// scrolls inside its own region, which the keyboard can reach).

/** axe-core rules run: WCAG 2.0 and 2.1, A and AA, and the best practices (with these, every rule axe runs by default). */
const axeTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

const chromiumPath = chromiumForTests();
let tour: Tour;
let browser: Browser;
// Two apps, an upstream MCP server and Chromium start here: more than a test's 30 seconds on a busy machine.
beforeAll(async () => {
  if (!chromiumPath) return;
  tour = await startTour();
  browser = await launchChromium(chromiumPath);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await tour?.close();
});

/** axe-core's serious and critical findings on the page: rule id and where. */
async function seriousProblems(page: Page): Promise<{ rule: string; where: string }[]> {
  // Legacy mode runs axe in the page itself, without opening a blank page to gather the results in: the
  // same findings in about half the time. It skips cross-origin frames; these pages have none (CSP default-src none).
  const { violations } = await new AxeBuilder({ page }).withTags(axeTags).setLegacyMode(true).analyze();
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ rule: v.id, where: v.nodes.map((n) => n.target.join(" ")).join(", ") }));
}

/** The page's width past the screen's, in CSS pixels; 0 when it fits. */
const overflowPx = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/** Every stop of `role`'s at this size and scheme: what is wrong with each, by stop name. */
async function problemsOf(role: Role, viewport: Viewport, scheme: Scheme): Promise<Record<string, string[]>> {
  const { context, page } = await tour.open(browser, role, viewport, scheme);
  const found: Record<string, string[]> = {};
  for (const stop of tour.stops.filter((s) => s.role === role)) {
    const problems: string[] = [];
    const status = await tour.visit(page, stop);
    if (status !== (stop.status ?? 200)) problems.push(`status ${status}, not ${stop.status ?? 200}`);
    for (const { rule, where } of await seriousProblems(page)) problems.push(`${rule}: ${where}`);
    const overflow = await overflowPx(page);
    if (overflow > 0) problems.push(`wider-than-screen by ${overflow} px`);
    if (problems.length) found[stop.name] = problems;
  }
  await context.close();
  return found;
}

describe.skipIf(!chromiumPath)("every page, at a phone's size and a laptop's, light and dark", () => {
  for (const viewport of viewports)
    for (const scheme of schemes) {
      const size = `${viewport.width}×${viewport.height}`;
      test(`${size}, ${scheme}: every page has its status, no serious axe violation, nothing wider than the screen`, async () => {
        // The roles side by side, each in its own context: axe runs in Chromium's renderers, one per page.
        const found = await Promise.all(roles.map((role) => problemsOf(role, viewport, scheme)));
        expect(Object.assign({}, ...found)).toEqual({});
      }, 180_000);
    }

  test("the first Tab reaches 'Skip to content', which takes the keyboard past the header", async () => {
    const { context, page } = await tour.open(browser, "member", viewports[1], "light");
    await page.goto(`${tour.app.url}/keys`);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    await context.close();
  });

  test("no column header is empty: a column of buttons is named for screen readers", async () => {
    const empty: string[] = [];
    for (const role of ["member", "admin"] satisfies Role[]) {
      const { context, page } = await tour.open(browser, role, viewports[1], "light");
      for (const stop of tour.stops.filter((s) => s.role === role && typeof s.reach === "string")) {
        await tour.visit(page, stop);
        const count = await page.locator("th").evaluateAll((ths) => ths.filter((th) => !th.textContent?.trim()).length);
        if (count > 0) empty.push(`${stop.name}: ${count}`);
      }
      await context.close();
    }
    expect(empty).toEqual([]);
  });

  test("dark mode changes the page's colours (the system setting is followed)", async () => {
    const colours: Record<string, string> = {};
    for (const scheme of schemes) {
      const { context, page } = await tour.open(browser, "signed-out", viewports[0], scheme);
      await page.goto(`${tour.app.url}/sign-in`);
      colours[scheme] = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      await context.close();
    }
    expect(colours.light).toBe("rgb(245, 246, 248)");
    expect(colours.dark).toBe("rgb(20, 23, 28)");
  });
});
