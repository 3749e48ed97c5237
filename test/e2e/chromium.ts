import { existsSync } from "node:fs";
import { chromium, type Browser, type LaunchOptions, type Locator, type Page } from "playwright-core";

// Browser tests use the system Chromium (Debian's `chromium` package) through
// playwright-core; `playwright install` downloads are never needed.
const candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

export const installHint =
  "Install it with `apt-get install chromium`, or point GATEHOUSE_CHROMIUM at a Chromium binary.";

/** The Chromium binary to drive, or null when none is installed. */
export function findChromium(): string | null {
  const override = process.env.GATEHOUSE_CHROMIUM;
  if (override) return existsSync(override) ? override : null;
  return candidates.find((path) => existsSync(path)) ?? null;
}

/**
 * The Chromium binary for a browser test file, or null to skip it. A missing
 * browser fails the run under CI, so browser tests can never silently vanish
 * there; on a developer's machine it only warns.
 */
export function chromiumForTests(): string | null {
  const path = findChromium();
  if (path) return path;
  const message = `Chromium not found (looked at ${process.env.GATEHOUSE_CHROMIUM ?? candidates.join(", ")}). ${installHint}`;
  if (process.env.CI) throw new Error(`Browser tests cannot run under CI: ${message}`);
  console.warn(`Skipping browser tests: ${message}`);
  return null;
}

export function chromiumLaunchOptions(executablePath: string): LaunchOptions {
  return {
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  };
}

/** Launches Chromium headless; `extraArgs` are more command-line switches (e.g. `--host-resolver-rules`). */
export function launchChromium(executablePath: string, extraArgs: string[] = []): Promise<Browser> {
  const options = chromiumLaunchOptions(executablePath);
  return chromium.launch({ ...options, args: [...options.args!, ...extraArgs] });
}

/** Clicks something that submits a form or follows a link, and waits until the next page has loaded. */
export async function clickAndLoad(page: Page, target: Locator): Promise<void> {
  const loaded = page.waitForEvent("load");
  await target.click();
  await loaded;
}

/** Fills and submits the password form of the sign-in page the browser is on, and waits for the next page. */
export async function submitSignIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await clickAndLoad(page, page.getByRole("button", { name: "Sign in", exact: true }));
}
