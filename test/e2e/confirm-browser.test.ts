import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { registerManualClient } from "../../src/oauth/registration.ts";
import { basicAuth, exchangeCode } from "../oauth/token-fixture.ts";
import { nowSeconds } from "../support/clock.ts";
import { makeClient, makeConnection, makeKey, makeUser, redirectUri } from "../support/factories.ts";
import { createInvitation, invitationUrl } from "../../src/accounts/invitations.ts";
import { createServiceAccount } from "../../src/accounts/service-accounts.ts";
import { Browser as HttpBrowser, createTestApp, type TestApp } from "../helpers.ts";
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
    const { token } = await makeKey(app, memberId, "read", "deploy");
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
    const { token } = await makeKey(app, memberId, "read", "nightly");
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
    const tokens = await connect(memberId, (await makeClient(app, { name: "Claude" })).client.id);
    await cancelThenConfirm(page, app.url, {
      list: "/keys",
      link: (p) => p.locator("#connections tr", { hasText: "Claude" }).getByRole("link", { name: "Revoke" }),
      question: "Revoke “Claude” for member@example.com?",
      confirm: "Revoke connection",
      flash: "Revoked “Claude” for member@example.com: it gets 401 from now on.",
      inEffect: async () => (await mcpStatus(tokens.access_token)) === 200,
    });
  });

  test("deleting one's own client", async () => {
    const { client } = await manualClient("Home lab", memberId);
    const tokens = await connect(memberId, client.id);
    await cancelThenConfirm(page, app.url, {
      list: `/clients/edit?id=${client.id}`,
      landing: "/clients",
      link: (p) => p.getByRole("link", { name: "Delete client" }),
      question: "Delete “Home lab”?",
      confirm: "Delete client",
      flash: "Deleted “Home lab”: every token issued to it has stopped working.",
      inEffect: async () => (await mcpStatus(tokens.access_token)) === 200,
    });
  });
});

/**
 * Whether the token endpoint takes `secret` for the client: a refresh with a made-up token is
 * invalid_grant (400) once the client has authenticated, invalid_client (401) before.
 */
async function secretWorks(clientId: string, secret: string): Promise<boolean> {
  const res = await fetch(`${app.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basicAuth(clientId, secret) },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: "gate_rt_made_up" }),
  });
  await res.arrayBuffer();
  return res.status !== 401;
}

/** A client added on a clients page: `ownerUserId`'s own, or the organization's (null). */
async function manualClient(name: string, ownerUserId: string | null, method: "none" | "client_secret_basic" = "none") {
  return registerManualClient(app.db, { name, redirectUris: [redirectUri], method, ownerUserId, now: nowSeconds() });
}

/** Connects `userId` to the client: the tokens it gets. */
async function connect(userId: string, clientId: string) {
  const { code } = await makeConnection(app, { userId, clientId });
  return exchangeCode(app, clientId, code);
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
    const tokens = await connect(memberId, (await makeClient(app, { name: "Cursor" })).client.id);
    await cancelThenConfirm(adminPage, app.url, {
      list: "/keys",
      link: (p) => p.locator("#all-connections tr", { hasText: "Cursor" }).getByRole("link", { name: "Revoke" }),
      question: "Revoke “Cursor” for member@example.com?",
      confirm: "Revoke connection",
      flash: "Revoked “Cursor” for member@example.com: it gets 401 from now on.",
      inEffect: async () => (await mcpStatus(tokens.access_token)) === 200,
    });
  });

  test("making a new secret for a client", async () => {
    const { client, secret } = await manualClient("Backend", null, "client_secret_basic");
    await cancelThenConfirm(adminPage, app.url, {
      list: `/admin/clients/edit?id=${client.id}`,
      link: (p) => p.getByRole("link", { name: "Make a new secret" }),
      question: "Make a new secret for “Backend”?",
      confirm: "Make a new secret",
      flash: "Made a new secret for “Backend”: the old one has stopped working.",
      showsSecret: true,
      inEffect: () => secretWorks(client.id, secret!),
    });
    expect(await secretWorks(client.id, await adminPage.locator("#client-secret").inputValue())).toBe(true);
  });

  test("deleting a client someone uses", async () => {
    const { client } = await manualClient("Team tool", null);
    const tokens = await connect(memberId, client.id);
    await cancelThenConfirm(adminPage, app.url, {
      list: `/admin/clients/edit?id=${client.id}`,
      landing: "/admin/clients",
      link: (p) => p.getByRole("link", { name: "Delete client" }),
      question: "Delete “Team tool”?",
      confirm: "Delete client",
      flash: "Deleted “Team tool”: every token issued to it has stopped working.",
      inEffect: async () => (await mcpStatus(tokens.access_token)) === 200,
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
  /** The status the token endpoint answers a service account's client_credentials request with. */
  const tokenStatus = async (clientId: string, secret: string) => {
    const res = await fetch(`${app.url}/oauth/token`, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`${clientId}:${secret}`)}` },
      body: new URLSearchParams({ grant_type: "client_credentials" }),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const serviceAccount = async (name: string) => {
    const { account, clientSecret } = await createServiceAccount(app.db, {
      name,
      access: "read",
      tools: null,
      resource: `${app.url}/mcp`,
      now: nowSeconds(),
    });
    return { clientId: account.client.id, secret: clientSecret };
  };

  test("disabling a person", async () => {
    const person = await makeUser(app, { email: "leaver@example.com" });
    const { token } = await makeKey(app, person.id, "read", "leavers key");
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
    const { token } = await createInvitation(app.db, {
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

  test("a service account's new secret", async () => {
    const { clientId, secret } = await serviceAccount("ci-rotate");
    await cancelThenConfirm(admin, app.url, {
      list: "/admin/service-accounts",
      showsSecret: true,
      link: (p) => row("service-accounts", "ci-rotate")(p).getByRole("link", { name: "New secret" }),
      question: "New secret for “ci-rotate”?",
      confirm: "Make a new secret",
      flash: "Made a new secret for “ci-rotate”: the old one has stopped working.",
      inEffect: async () => (await tokenStatus(clientId, secret)) === 200,
    });
    const fresh = await admin.locator("#client-secret").inputValue();
    expect(await tokenStatus(clientId, fresh)).toBe(200);
  });

  test("disabling a service account", async () => {
    const { clientId, secret } = await serviceAccount("ci-pause");
    await cancelThenConfirm(admin, app.url, {
      list: "/admin/service-accounts",
      link: (p) => row("service-accounts", "ci-pause")(p).getByRole("link", { name: "Disable" }),
      question: "Disable “ci-pause”?",
      confirm: "Disable service account",
      flash: "Disabled “ci-pause”: it gets no new tokens, and the ones it has stopped working.",
      inEffect: async () => (await tokenStatus(clientId, secret)) === 200,
    });
  });

  test("deleting a service account", async () => {
    const { clientId, secret } = await serviceAccount("ci-gone");
    await cancelThenConfirm(admin, app.url, {
      list: "/admin/service-accounts",
      link: (p) => row("service-accounts", "ci-gone")(p).getByRole("link", { name: "Delete" }),
      question: "Delete “ci-gone”?",
      confirm: "Delete service account",
      flash: "Deleted “ci-gone”: its secret and tokens no longer work.",
      inEffect: async () => (await tokenStatus(clientId, secret)) === 200,
    });
  });
});
