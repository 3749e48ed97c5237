import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { findChromium, installHint, launchChromium } from "./chromium.ts";
import { roles, schemes, startTour, viewports, type Role, type Scheme, type Viewport } from "./page-tour.ts";

// `npm run screenshots`: every page of the tour (page-tour.ts), full length,
// at a phone's size and a laptop's, light and dark, as PNGs in screenshots/
// (git-ignored) for a reviewer to look at: <stop>.<width>.<scheme>.png.

const folder = resolve(import.meta.dir, "../../screenshots");

const chromiumPath = findChromium();
if (!chromiumPath) {
  console.error(`npm run screenshots drives Chromium, and none was found. ${installHint}`);
  process.exit(1);
}

// The last run's pictures go: a page no longer in the tour must not linger.
mkdirSync(folder, { recursive: true });
for (const file of readdirSync(folder)) if (file.endsWith(".png")) rmSync(join(folder, file));

const tour = await startTour();
const browser = await launchChromium(chromiumPath);
const failures: string[] = [];
let written = 0;

/** Photographs every stop of `role`'s at this size and scheme. */
async function photograph(role: Role, viewport: Viewport, scheme: Scheme) {
  const { context, page } = await tour.open(browser, role, viewport, scheme);
  for (const stop of tour.stops.filter((s) => s.role === role)) {
    const file = `${stop.name}.${viewport.width}.${scheme}.png`;
    try {
      const status = await tour.visit(page, stop);
      if (status !== (stop.status ?? 200)) failures.push(`${file}: status ${status}, not ${stop.status ?? 200}`);
      await page.screenshot({ path: join(folder, file), fullPage: true });
      written++;
    } catch (error) {
      failures.push(`${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  await context.close();
}

try {
  for (const viewport of viewports)
    for (const scheme of schemes) await Promise.all(roles.map((role) => photograph(role, viewport, scheme)));
} finally {
  await browser.close();
  await tour.close();
}

for (const failure of failures) console.error(failure);
console.log(`${written} screenshots in ${relative(process.cwd(), folder) || "."}/`);
process.exit(failures.length ? 1 : 0);
