import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { createInvitation, invitationUrl } from "../../src/accounts/invitations.ts";
import { Browser as HttpBrowser, createTestApp, type TestApp } from "../helpers.ts";
import { makeKey, makeUser } from "../support/factories.ts";
import { nowSeconds } from "../support/clock.ts";
import { chromiumForTests, launchChromium, submitSignIn } from "./chromium.ts";
import { cancelThenConfirm } from "./confirm-flow.ts";

// Every destructive action asks first on a page of its own, naming what stops
// working; Cancel changes nothing, and confirming acts and comes back to the
// list (a GET) with a message saying what happened (issue 14).

const chromiumPath = chromiumForTests();
const password = "correct horse battery staple";

let app: TestApp;
let browser: Browser;
let page: Page;
let memberId: string;
beforeAll(async () => {
  if (!chromiumPath) return;
  app = await createTestApp();
  const member = await makeUser(app, { email: "member@example.com", password });
  memberId = member.id;
  browser = await launchChromium(chromiumPath);
  page = await (await browser.newContext()).newPage();
  await page.goto(`${app.url}/sign-in`);
  await submitSignIn(page, "member@example.com", password);
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** The status /mcp answers a bearer credential with, over a socket as a client would send it. */
async function mcpStatus(token: string): Promise<number> {
  const res = await fetch(`${app.url}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe.skipIf(!chromiumPath)("destructive actions ask, then report", () => {
  test("revoking an API key", async () => {
    const { token } = makeKey(app, memberId, "read", "deploy");
    await cancelThenConfirm(page, app.url, {
      list: "/keys",
      link: (p) => p.locator("#keys tr", { hasText: "deploy" }).getByRole("link", { name: "Revoke" }),
      question: "Revoke “deploy”?",
      confirm: "Revoke key",
      flash: "Revoked “deploy”: anything using it now gets 401.",
      inEffect: async () => (await mcpStatus(token)) === 200,
    });
  });
});

describe.skipIf(!chromiumPath)("an admin's destructive actions ask, then report", () => {
  let admin: Page;
  beforeAll(async () => {
    await makeUser(app, { email: "admin@example.com", password, isAdmin: true });
    admin = await (await browser.newContext()).newPage();
    await admin.goto(`${app.url}/sign-in`);
    await submitSignIn(admin, "admin@example.com", password);
  });

  const row = (table: string, text: string) => (p: Page) => p.locator(`#${table} tr`, { hasText: text });
  test("disabling a person", async () => {
    const person = await makeUser(app, { email: "leaver@example.com" });
    const { token } = makeKey(app, person.id, "read", "leavers key");
    await cancelThenConfirm(admin, app.url, {
      list: "/admin/people",
      link: (p) => row("people", "leaver@example.com")(p).getByRole("link", { name: "Disable" }),
      question: "Disable leaver@example.com?",
      confirm: "Disable account",
      flash: "Disabled leaver@example.com: their sessions ended and their API keys and connections stopped working.",
      inEffect: async () => (await mcpStatus(token)) === 200,
    });
  });

  test("removing an admin", async () => {
    await makeUser(app, { email: "former-admin@example.com", password, isAdmin: true });
    // Their own browser, over a socket: whether the admin pages still open for them.
    const theirs = new HttpBrowser(app.url);
    const csrf = HttpBrowser.csrfOf(await (await theirs.get("/sign-in")).text());
    expect((await theirs.post("/sign-in", { csrf, email: "former-admin@example.com", password })).status).toBe(303);
    await cancelThenConfirm(admin, app.url, {
      list: "/admin/people",
      link: (p) => row("people", "former-admin@example.com")(p).getByRole("link", { name: "Remove admin" }),
      question: "Remove admin from former-admin@example.com?",
      confirm: "Remove admin",
      flash: "former-admin@example.com is no longer an admin.",
      inEffect: async () => (await theirs.get("/admin/people")).status === 200,
    });
  });

  test("revoking an invitation", async () => {
    const { token } = createInvitation(app.db, {
      email: "invitee@example.com",
      isAdmin: false,
      createdBy: null,
      now: nowSeconds(),
    });
    const link = invitationUrl(app.url, token);
    await cancelThenConfirm(admin, app.url, {
      list: "/admin/people",
      link: (p) => row("invitations", "invitee@example.com")(p).getByRole("link", { name: "Revoke" }),
      question: "Revoke the invitation for invitee@example.com?",
      confirm: "Revoke invitation",
      flash: "Revoked the invitation for invitee@example.com: its link no longer works.",
      inEffect: async () => (await fetch(link)).status === 200,
    });
  });
});
