import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { first } from "../../src/db/transaction.ts";
import { eq } from "drizzle-orm";
import type { Browser } from "playwright-core";
import { createInvitation } from "../../src/accounts/invitations.ts";
import { freePort, type TestApp } from "../helpers.ts";
import { gatehouseWith, oidcProvider, startOp, type TestOp } from "../identity/oidc-fixture.ts";
import { chromiumForTests, launchChromium } from "./chromium.ts";

// A person signs in through an OpenID Connect provider in headless Chromium:
// the sign-in page's button, the provider's own login form (oidc-provider on
// loopback), and back at Gatehouse signed in on /keys.

const chromiumPath = chromiumForTests();
setDefaultTimeout(30_000);

let op: TestOp;
let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  if (chromiumPath === null) return;
  const port = freePort();
  op = await startOp({ redirectUris: [`http://127.0.0.1:${port}/sign-in/company-sso/callback`] });
  op.accounts.set("alice", { email: "alice@example.com", email_verified: true });
  op.accounts.set("bea", { email: "bea@example.com", email_verified: true });
  op.accounts.set("cleo", { email: "cleo@example.com", email_verified: false });
  app = await gatehouseWith(port, [oidcProvider(op, { id: "company-sso", name: "Company SSO", signup: "open" })]);
  browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await op?.close();
});

describe.skipIf(chromiumPath === null)("sign-in through an identity provider in a browser", () => {
  test("the button leads to the provider's login form and back, signed in on /keys", async () => {
    const { identityLinks } = app.db.tables;
    const context = await browser.newContext({ baseURL: app.url });
    const page = await context.newPage();
    await page.goto("/sign-in?next=/keys");
    await Promise.all([
      page.waitForURL((url) => url.origin === new URL(op.issuer).origin),
      page.getByRole("button", { name: "Sign in with Company SSO" }).click(),
    ]);
    await page.locator('input[name="login"]').fill("alice");
    await page.locator('input[name="password"]').fill("anything");
    await Promise.all([page.waitForURL(`${app.url}/keys`), page.getByRole("button", { name: "Sign-in" }).click()]);
    expect(await page.locator("header .who").textContent()).toBe("alice@example.com");
    expect(
      first(await app.db.select().from(identityLinks).where(eq(identityLinks.subject, "alice")).limit(1))?.provider,
    ).toBe("company-sso");
    await context.close();
  });

  test("an invited person signs in through the provider from the invitation page instead of choosing a password", async () => {
    const { invitations } = app.db.tables;
    const { token, invitation } = await createInvitation(app.db, {
      email: "bea@example.com",
      isAdmin: false,
      createdBy: null,
      now: Math.floor(Date.now() / 1000),
    });
    const context = await browser.newContext({ baseURL: app.url });
    const page = await context.newPage();
    await page.goto(`/invite/${token}`);
    await Promise.all([
      page.waitForURL((url) => url.origin === new URL(op.issuer).origin),
      page.getByRole("button", { name: "Sign in with Company SSO" }).click(),
    ]);
    await page.locator('input[name="login"]').fill("bea");
    await page.locator('input[name="password"]').fill("anything");
    await Promise.all([page.waitForURL(`${app.url}/keys`), page.getByRole("button", { name: "Sign-in" }).click()]);
    expect(await page.locator("header .who").textContent()).toBe("bea@example.com");
    expect(
      first(await app.db.select().from(invitations).where(eq(invitations.id, invitation.id)).limit(1))?.usedAt,
    ).not.toBeNull();
    await context.close();
  });

  test("an unverified email ends on a readable refusal page with 403", async () => {
    const context = await browser.newContext({ baseURL: app.url });
    const page = await context.newPage();
    await page.goto("/sign-in");
    await Promise.all([
      page.waitForURL((url) => url.origin === new URL(op.issuer).origin),
      page.getByRole("button", { name: "Sign in with Company SSO" }).click(),
    ]);
    await page.locator('input[name="login"]').fill("cleo");
    await page.locator('input[name="password"]').fill("anything");
    const answer = page.waitForResponse((res) => res.url().startsWith(`${app.url}/sign-in/company-sso/callback`));
    await page.getByRole("button", { name: "Sign-in" }).click();
    expect((await answer).status()).toBe(403);
    expect(await page.getByRole("heading", { name: "Email not verified" }).count()).toBe(1);
    await context.close();
  });
});
