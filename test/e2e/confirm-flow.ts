import { expect } from "bun:test";
import type { Locator, Page } from "playwright-core";
import { clickAndLoad } from "./chromium.ts";

/** One destructive action as a person meets it in the browser, from the list its button sits in. */
export interface DestructiveAction {
  /** The page with the action's button, e.g. `/keys` (path and query). */
  list: string;
  /** Where confirming ends when not on `list`: a thing deleted from its own page ends on the list of them. */
  landing?: string;
  /** Confirming shows a new secret once: its page is the POST's answer (200), the message on it, not a redirect. */
  showsSecret?: boolean;
  /** The action's link on that page (it leads to the confirmation page). */
  link: (page: Page) => Locator;
  /** The confirmation page's heading, e.g. `Revoke “deploy”?`. */
  question: string;
  /** The confirming button's name, e.g. `Revoke key`. */
  confirm: string;
  /** The message the list shows afterwards (role="status"). */
  flash: string;
  /** Whether the thing still does what the action stops, asked by a real request (not the page). */
  inEffect: () => Promise<boolean>;
}

/** The path and query the browser is on. */
function at(page: Page): string {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

/**
 * Follows the action's link, cancels, and checks nothing changed; then
 * follows it again, confirms, and checks it took effect and the browser ended
 * on the list (a GET, so reloading repeats nothing) with the flash message.
 * An action that shows a new secret ends on its answer instead, the message above the secret.
 */
export async function cancelThenConfirm(page: Page, origin: string, action: DestructiveAction): Promise<void> {
  await page.goto(origin + action.list);
  await clickAndLoad(page, action.link(page));
  expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(action.question);
  await clickAndLoad(page, page.getByRole("link", { name: "Cancel", exact: true }));
  expect(at(page)).toBe(action.list);
  expect(await page.getByRole("status").count()).toBe(0);
  expect(await action.inEffect()).toBe(true);

  await clickAndLoad(page, action.link(page));
  const answer = page.waitForResponse((r) => r.request().method() === "POST");
  await clickAndLoad(page, page.getByRole("button", { name: action.confirm, exact: true }));
  if (action.showsSecret) {
    expect((await answer).status()).toBe(200);
    expect(await page.getByRole("status").textContent()).toBe(action.flash);
    expect(await action.inEffect()).toBe(false);
    return;
  }
  expect((await answer).status()).toBe(303);
  expect(at(page)).toBe(action.landing ?? action.list);
  expect(await page.getByRole("status").textContent()).toBe(action.flash);
  expect(await action.inEffect()).toBe(false);
  // The message is shown once.
  await page.reload();
  expect(await page.getByRole("status").count()).toBe(0);
}
