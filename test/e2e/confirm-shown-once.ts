import { expect } from "bun:test";
import type { Page } from "playwright-core";
import { clickAndLoad } from "./chromium.ts";
import type { DestructiveAction } from "./confirm-flow.ts";

/** A destructive action whose result is a secret shown once: its page is the POST's answer, not a redirect. */
export interface ShownOnceAction extends Omit<DestructiveAction, "flash"> {
  /** The heading of the page showing the new secret, e.g. `New secret for ci-deploy`. */
  shown: string;
  /** That page's role="status" line. */
  status: string;
}

/**
 * As cancelThenConfirm (confirm-flow.ts) up to the confirming click; then the
 * browser is on the POST's answer (200), which shows the secret with a status
 * line, and the old credential has stopped (asked by a real request).
 */
export async function cancelThenConfirmShownOnce(page: Page, origin: string, action: ShownOnceAction): Promise<void> {
  await page.goto(origin + action.list);
  await clickAndLoad(page, action.link(page));
  expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(action.question);
  await clickAndLoad(page, page.getByRole("link", { name: "Cancel", exact: true }));
  expect(new URL(page.url()).pathname).toBe(action.list);
  expect(await action.inEffect()).toBe(true);

  await clickAndLoad(page, action.link(page));
  const answer = page.waitForResponse((r) => r.request().method() === "POST");
  await clickAndLoad(page, page.getByRole("button", { name: action.confirm, exact: true }));
  expect((await answer).status()).toBe(200);
  expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(action.shown);
  expect(await page.getByRole("status").textContent()).toBe(action.status);
  expect(await action.inEffect()).toBe(false);
}
