import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { createUser } from "../../src/accounts/users.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { oauthPaths } from "../../src/oauth/endpoints.ts";
import { permissionDeniedCode } from "../../src/mcp/permission-denied.ts";
import { startHttpUpstream, type HttpUpstream } from "../gateway/http-upstream.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient } from "../mcp/fixture.ts";
import { chromiumForTests, launchChromium } from "./chromium.ts";

// A person ticks write tools on the consent page in headless Chromium; the
// token the code buys can call the ticked tool and not the other. The
// checkboxes show only while Full is chosen, by CSS alone (no script runs).

const chromiumPath = chromiumForTests();
const email = "grace@example.com";
const password = "correct horse battery staple";
const verifier = "consent-tools-browser-verifier-0123456789-abcdefgh";
const challenge = new Bun.CryptoHasher("sha256").update(verifier).digest("base64url");
const store = "web__store";
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
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", `[[upstream]]\nname = "web"\nurl = "${upstream.url}"\n`, {}) });
  while (app.gateway!.statuses().some((s) => s.state !== "connected")) await Bun.sleep(20);
  await createUser(app.db, { email, password, isAdmin: false, now: Math.floor(Date.now() / 1000) });
  callback = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
  browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  await browser?.close();
  callback?.stop(true);
  await app?.close();
  upstream?.stop();
});

async function registerClient(): Promise<string> {
  const res = await fetch(`${app.url}${oauthPaths.register}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "Claude", redirect_uris: [callbackUrl()], token_endpoint_auth_method: "none" }),
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

const toolBox = (page: Page, name: string) => page.locator(`#write-tools input[type=checkbox][value="${name}"]`);
const accessChoice = (page: Page, level: string) => page.getByRole("radio", { name: new RegExp(`^${level}:`) });

describe.skipIf(chromiumPath === null)("ticking write tools on the consent page", () => {
  let page: Page;
  let clientId = "";
  let accessToken = "";

  test("signed in, the consent page shows the write tools under Full, none ticked", async () => {
    clientId = await registerClient();
    page = await (await browser.newContext({ baseURL: app.url, javaScriptEnabled: false })).newPage();
    await page.goto(authorizeUrl(clientId));
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await Promise.all([page.waitForURL((u) => u.pathname === oauthPaths.authorize), page.getByRole("button", { name: "Sign in", exact: true }).click()]);
    expect(await accessChoice(page, "Full").isChecked()).toBe(true);
    expect(await page.locator("#write-tools").isVisible()).toBe(true);
    expect(await toolBox(page, store).isChecked()).toBe(false);
    expect(await toolBox(page, revoke).isChecked()).toBe(false);
  });

  test("choosing Read-only hides the write tools, choosing Full shows them again", async () => {
    await accessChoice(page, "Read-only").check();
    expect(await page.locator("#write-tools").isVisible()).toBe(false);
    await accessChoice(page, "Full").check();
    expect(await page.locator("#write-tools").isVisible()).toBe(true);
  });

  test("Allow with Full and nothing ticked stays on the consent page with an error", async () => {
    await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Allow", exact: true }).click()]);
    await page.waitForSelector("[role=alert]");
    expect(new URL(page.url()).pathname).toBe(oauthPaths.authorize);
    expect(await page.getByRole("alert").textContent()).toContain("Tick the tools that change things");
  });

  test("ticking web__store and Allow sends a code that buys a token", async () => {
    await accessChoice(page, "Full").check();
    await toolBox(page, store).check();
    await page.screenshot({ path: "/tmp/gatehouse-consent-tools.png", fullPage: true });
    const arrived = page.waitForURL((u) => u.href.startsWith(`${callbackUrl()}?`));
    await page.getByRole("button", { name: "Allow", exact: true }).click();
    await arrived;
    const code = new URL(page.url()).searchParams.get("code")!;
    const res = await fetch(`${app.url}${oauthPaths.token}`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "authorization_code", client_id: clientId, redirect_uri: callbackUrl(), code, code_verifier: verifier }),
    });
    expect(res.status).toBe(200);
    accessToken = ((await res.json()) as { access_token: string }).access_token;
  });

  test("the token lists and calls web__store", async () => {
    const client = await connectClient(app, accessToken);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain(store);
    const result = await client.callTool({ name: store, arguments: { text: "from chromium" } });
    expect((result.content as { text: string }[])[0]!.text).toBe("stored from chromium");
  });

  test("the token neither lists nor may call revoke_connection", async () => {
    const client = await connectClient(app, accessToken);
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain(revoke);
    const error = (await client.callTool({ name: revoke, arguments: { kind: "api_key", id: "x" } }).catch((e: unknown) => e)) as { code?: number; data?: { tool?: string } };
    expect([error.code, error.data?.tool]).toEqual([permissionDeniedCode, revoke]);
  });
});
