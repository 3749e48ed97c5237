import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { createTestApp, type TestApp } from "../helpers.ts";
import { exchangeCode } from "../oauth/token-fixture.ts";
import { makeClient, makeConnection, makeKey, makeUser } from "../support/factories.ts";
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

  test("rotating an API key", async () => {
    const { token } = makeKey(app, memberId, "read", "nightly");
    await cancelThenConfirm(page, app.url, {
      list: "/keys",
      link: (p) => p.locator("#keys tr", { hasText: "nightly" }).getByRole("link", { name: "Rotate" }),
      question: "Rotate “nightly”?",
      confirm: "Rotate key",
      flash: "Rotated “nightly”: the old secret has stopped working.",
      showsSecret: true,
      inEffect: async () => (await mcpStatus(token)) === 200,
    });
    expect(await page.locator("#new-key").inputValue()).toMatch(/^gate_key_/);
    expect(await mcpStatus(await page.locator("#new-key").inputValue())).toBe(200);
  });

  test("revoking one's own connection", async () => {
    const { tokens } = await connection(memberId, "Claude");
    await cancelThenConfirm(page, app.url, {
      list: "/keys",
      link: (p) => p.locator("#connections tr", { hasText: "Claude" }).getByRole("link", { name: "Revoke" }),
      question: "Revoke “Claude” for member@example.com?",
      confirm: "Revoke connection",
      flash: "Revoked “Claude” for member@example.com: it gets 401 from now on.",
      inEffect: async () => (await mcpStatus(tokens.access_token)) === 200,
    });
  });
});

/** A connection of `userId`'s to a new public client named `clientName`, with its tokens. */
async function connection(userId: string, clientName: string) {
  const { client } = makeClient(app, { name: clientName });
  const { code } = makeConnection(app, { userId, clientId: client.id });
  return { client, tokens: await exchangeCode(app, client.id, code) };
}

describe.skipIf(!chromiumPath)("destructive actions an admin takes on member-side things ask, then report", () => {
  let adminPage: Page;
  beforeAll(async () => {
    if (!chromiumPath) return;
    await makeUser(app, { email: "boss@example.com", password, isAdmin: true });
    adminPage = await (await browser.newContext()).newPage();
    await adminPage.goto(`${app.url}/sign-in`);
    await submitSignIn(adminPage, "boss@example.com", password);
  });

  test("revoking someone else's connection", async () => {
    const { tokens } = await connection(memberId, "Cursor");
    await cancelThenConfirm(adminPage, app.url, {
      list: "/keys",
      link: (p) => p.locator("#all-connections tr", { hasText: "Cursor" }).getByRole("link", { name: "Revoke" }),
      question: "Revoke “Cursor” for member@example.com?",
      confirm: "Revoke connection",
      flash: "Revoked “Cursor” for member@example.com: it gets 401 from now on.",
      inEffect: async () => (await mcpStatus(tokens.access_token)) === 200,
    });
  });
});
