import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { createUser } from "../../src/accounts/users.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { oauthPaths } from "../../src/oauth/paths.ts";
import { permissionDeniedCode } from "../../src/mcp/permission-denied.ts";
import { startHttpUpstream, type HttpUpstream } from "../gateway/http-upstream.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient } from "../mcp/fixture.ts";
import { waitFor } from "../support/wait-for.ts";
import { chromiumForTests, launchChromium, submitSignIn } from "./chromium.ts";

// The consent page's access choice in headless Chromium (issue 10, point 5).
// Pressing Allow as served must work: Full, every write tool. "Full, only
// the write tools I tick" shows the tools grouped by upstream, by CSS alone
// (no script); with script, a group's tick-all ticks its tools.

const chromiumPath = chromiumForTests();
const email = "grace@example.com";
const password = "correct horse battery staple";
const verifier = "consent-tools-browser-verifier-0123456789-abcdefgh";
const challenge = new Bun.CryptoHasher("sha256").update(verifier).digest("base64url");
const store = "web__store";
const slow = "web__slow";
const revoke = "gatehouse__revoke_connection";

setDefaultTimeout(30_000);

let upstream: HttpUpstream;
let app: TestApp;
let browser: Browser;
let callback: ReturnType<typeof Bun.serve>;
const callbackUrl = () => `http://127.0.0.1:${callback.port}/callback`;

beforeAll(async () => {
  if (chromiumPath === null) return;
  upstream = startHttpUpstream();
  // `slow` made a write tool, so the web group has two and a tick-all.
  const config = `[[upstream]]\nname = "web"\nurl = "${upstream.url}"\nwrite = ["slow"]\n`;
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", config, {}) });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
  await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: false,
    now: Math.floor(Date.now() / 1000),
  });
  callback = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
  browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  await browser?.close();
  callback?.stop(true);
  await app?.close();
  upstream?.stop();
});

async function registerClient(name: string): Promise<string> {
  const res = await fetch(`${app.url}${oauthPaths.register}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: name, redirect_uris: [callbackUrl()], token_endpoint_auth_method: "none" }),
  });
  return ((await res.json()) as { client_id: string }).client_id;
}

function authorizeUrl(clientId: string): string {
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: callbackUrl(),
    scope: "mcp:read mcp:write",
    state: "s",
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  return `${app.url}${oauthPaths.authorize}?${query}`;
}

/** A new browser signed in and on a new client's consent page. */
async function consentPage(clientName: string, javaScriptEnabled: boolean): Promise<{ page: Page; clientId: string }> {
  const clientId = await registerClient(clientName);
  const page = await (await browser.newContext({ baseURL: app.url, javaScriptEnabled })).newPage();
  await page.goto(authorizeUrl(clientId));
  await submitSignIn(page, email, password);
  await page.waitForURL((u) => u.pathname === oauthPaths.authorize);
  return { page, clientId };
}

/** Presses Allow and trades the code for an access token. */
async function allowAndExchange(page: Page, clientId: string): Promise<string> {
  const arrived = page.waitForURL((u) => u.href.startsWith(`${callbackUrl()}?`));
  await page.getByRole("button", { name: "Allow", exact: true }).click();
  await arrived;
  const code = new URL(page.url()).searchParams.get("code")!;
  const res = await fetch(`${app.url}${oauthPaths.token}`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: clientId,
      redirect_uri: callbackUrl(),
      code,
      code_verifier: verifier,
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const toolBox = (page: Page, name: string) => page.locator(`#write-tools input[name=tool][value="${name}"]`);
const accessChoice = (page: Page, level: string) => page.getByRole("radio", { name: new RegExp(`^${level}:`) });
const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text;

describe.skipIf(chromiumPath === null)("Allow as served", () => {
  let page: Page;
  let clientId = "";
  let accessToken = "";

  test("the consent page starts on Full, with the tools to tick hidden", async () => {
    ({ page, clientId } = await consentPage("Claude", false));
    expect(await accessChoice(page, "Full").isChecked()).toBe(true);
    expect(await page.locator("#write-tools").isVisible()).toBe(false);
    await page.screenshot({ path: "/tmp/gatehouse-consent-desktop.png", fullPage: true });
  });

  test("pressing Allow without touching the form sends a code that buys a token", async () => {
    accessToken = await allowAndExchange(page, clientId);
  });

  test("the token calls a write tool, upstream and built-in", async () => {
    const client = await connectClient(app, accessToken);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining([store, slow, revoke]));
    expect(textOf(await client.callTool({ name: store, arguments: { text: "as served" } }))).toBe("stored as served");
  });
});

describe.skipIf(chromiumPath === null)("Full, only the write tools I tick", () => {
  let page: Page;
  let clientId = "";
  let accessToken = "";

  test("choosing it shows the tools grouped by upstream, none ticked; Read-only hides them", async () => {
    ({ page, clientId } = await consentPage("Cursor", false));
    await accessChoice(page, "Full, only the write tools I tick").check();
    expect(await page.locator("#write-tools").isVisible()).toBe(true);
    expect(await page.locator("#write-tools fieldset.tool-group legend").allTextContents()).toEqual([
      "Gatehouse",
      "web",
    ]);
    for (const name of [store, slow, revoke]) expect(await toolBox(page, name).isChecked()).toBe(false);
    await accessChoice(page, "Read-only").check();
    expect(await page.locator("#write-tools").isVisible()).toBe(false);
  });

  test("Allow with nothing ticked stays on the consent page with an error", async () => {
    await accessChoice(page, "Full, only the write tools I tick").check();
    await Promise.all([
      page.waitForLoadState("load"),
      page.getByRole("button", { name: "Allow", exact: true }).click(),
    ]);
    await page.waitForSelector("[role=alert]");
    expect(new URL(page.url()).pathname).toBe(oauthPaths.authorize);
    expect(await page.getByRole("alert").textContent()).toContain("Tick at least one write tool");
    expect(await accessChoice(page, "Full, only the write tools I tick").isChecked()).toBe(true);
  });

  test("ticking web__store and Allow sends a code that buys a token", async () => {
    await toolBox(page, store).check();
    accessToken = await allowAndExchange(page, clientId);
  });

  test("the token calls web__store and may not call revoke_connection", async () => {
    const client = await connectClient(app, accessToken);
    const listed = (await client.listTools()).tools.map((t) => t.name);
    expect(listed).toContain(store);
    expect(listed).not.toContain(revoke);
    expect(textOf(await client.callTool({ name: store, arguments: { text: "from chromium" } }))).toBe(
      "stored from chromium",
    );
    const error = (await client
      .callTool({ name: revoke, arguments: { kind: "api_key", id: "x" } })
      .catch((e: unknown) => e)) as { code?: number; data?: { tool?: string } };
    expect([error.code, error.data?.tool]).toEqual([permissionDeniedCode, revoke]);
  });
});

describe.skipIf(chromiumPath === null)("a group's tick-all, with script", () => {
  test("ticks the group's tools and chooses Full with only ticked tools; unticking one clears it", async () => {
    const { page, clientId } = await consentPage("VS Code", true);
    const tickAll = page.getByRole("checkbox", { name: "All 2 write tools of web" });
    await accessChoice(page, "Full, only the write tools I tick").check();
    await tickAll.check();
    expect([
      await toolBox(page, store).isChecked(),
      await toolBox(page, slow).isChecked(),
      await toolBox(page, revoke).isChecked(),
    ]).toEqual([true, true, false]);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: "/tmp/gatehouse-consent-phone.png", fullPage: true });
    await toolBox(page, slow).uncheck();
    expect(await tickAll.isChecked()).toBe(false);
    await toolBox(page, slow).check();
    expect(await tickAll.isChecked()).toBe(true);
    const token = await allowAndExchange(page, clientId);
    const client = await connectClient(app, token);
    const listed = (await client.listTools()).tools.map((t) => t.name);
    expect(listed).toEqual(expect.arrayContaining([store, slow]));
    expect(listed).not.toContain(revoke);
  });
});
