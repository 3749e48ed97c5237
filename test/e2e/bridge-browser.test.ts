import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Browser, Page } from "playwright-core";
import { createUser } from "../../src/accounts/users.ts";
import { oauthPaths } from "../../src/oauth/paths.ts";
import { randomString } from "../../src/security/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { chromiumForTests, launchChromium, submitSignIn } from "./chromium.ts";

// The polling bridge end to end: a client that cannot receive a redirect
// (a Figma plugin) registers Gatehouse's own callback, a person signs in and
// consents in headless Chromium, the browser lands on the bridge page, and
// the client, polling from an opaque origin as a plugin iframe does, gets
// the code, exchanges it with its PKCE verifier and calls /mcp.

const chromiumPath = chromiumForTests();
const email = "grace@example.com";
const password = "correct horse battery staple";
const verifier = randomString(32);
const challenge = new Bun.CryptoHasher("sha256").update(verifier).digest("base64url");
const state = randomString(32);

setDefaultTimeout(30_000);

let app: TestApp;
/** The plugin's host page: another origin, holding the plugin in a sandboxed iframe (Origin: null), as Figma does. */
let pluginHost: ReturnType<typeof Bun.serve>;
let browser: Browser;
let page: Page;
let plugin: Page;
let clientId = "";
let code = "";
let accessToken = "";
/** Seconds added to the app's clock: a real plugin waits its 5-second interval between polls; the test moves the clock instead. */
let skew = 0;

const bridgeUrl = () => `${app.url}${oauthPaths.bridgeCallback}`;

beforeAll(async () => {
  if (chromiumPath === null) return;
  app = await createTestApp({ now: () => Math.floor(Date.now() / 1000) + skew });
  await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: false,
    now: Math.floor(Date.now() / 1000),
  });
  pluginHost = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () =>
      new Response(`<title>host</title><iframe sandbox="allow-scripts" srcdoc="<title>plugin</title>"></iframe>`, {
        headers: { "content-type": "text/html" },
      }),
  });
  browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  await browser?.close();
  pluginHost?.stop(true);
  await app?.close();
});

/**
 * The plugin's poll, sent by Chromium from inside the sandboxed iframe
 * (Origin: null). Reading the answer at all proves CORS let it through: a
 * blocked response makes fetch throw, and Access-Control-Allow-Origin is not
 * a header a page's script may read.
 */
function pollFromPlugin(): Promise<{ status: number; body: Record<string, string> }> {
  const frame = plugin.frames().find((f) => f !== plugin.mainFrame());
  if (!frame) throw new Error("the plugin iframe did not load");
  return frame.evaluate(
    async ({ url, form }) => {
      const res = await fetch(url, { method: "POST", body: new URLSearchParams(form) });
      return { status: res.status, body: await res.json() };
    },
    { url: `${app.url}${oauthPaths.bridgePoll}`, form: { state, client_id: clientId } },
  );
}

describe.skipIf(chromiumPath === null)("a plugin connecting through the polling bridge", () => {
  test("registers the bridge callback as its redirect URI", async () => {
    const res = await fetch(`${app.url}${oauthPaths.register}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_name: "Figma plugin",
        redirect_uris: [bridgeUrl()],
        token_endpoint_auth_method: "none",
      }),
    });
    expect(res.status).toBe(201);
    clientId = ((await res.json()) as { client_id: string }).client_id;
  });

  test("polls before the person answers and hears authorization_pending, with CORS for Origin null", async () => {
    plugin = await (await browser.newContext()).newPage();
    await plugin.goto(`http://127.0.0.1:${pluginHost.port}/`);
    expect(await plugin.frames()[1]!.evaluate(() => window.origin)).toBe("null");
    const first = await pollFromPlugin();
    expect([first.status, first.body.error]).toEqual([400, "authorization_pending"]);
  });

  test("the authorize link opened in the browser asks the person to sign in", async () => {
    const query = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: bridgeUrl(),
      scope: "mcp:read",
      state,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    page = await (await browser.newContext({ baseURL: app.url })).newPage();
    await page.goto(`${app.url}${oauthPaths.authorize}?${query}`);
    expect(new URL(page.url()).pathname).toBe("/sign-in");
  });

  test("after signing in, the consent page names the plugin", async () => {
    await submitSignIn(page, email, password);
    expect(await page.locator("#consent h1 strong").textContent()).toBe("Figma plugin");
  });

  test("Allow lands on the bridge page, which says to return to the app and shows no code", async () => {
    const arrived = page.waitForURL((url) => url.href.startsWith(`${bridgeUrl()}?`), { timeout: 10_000 });
    await page.getByRole("button", { name: "Allow", exact: true }).click();
    await arrived;
    expect(await page.locator("h1").textContent()).toBe("You can return to the app");
    expect(await page.locator("main").textContent()).toContain("Figma plugin");
    expect(await page.content()).not.toContain(new URL(page.url()).searchParams.get("code")!);
  });

  test("the plugin's next poll gets the code, the state and iss", async () => {
    skew += 5;
    const answer = await pollFromPlugin();
    expect([answer.status, answer.body.state, answer.body.iss]).toEqual([200, state, app.url]);
    code = answer.body.code!;
    expect(code).toStartWith("gate_code_");
  });

  test("the code is handed out once", async () => {
    skew += 5;
    const again = await fetch(`${app.url}${oauthPaths.bridgePoll}`, {
      method: "POST",
      body: new URLSearchParams({ state, client_id: clientId }),
    });
    expect(((await again.json()) as { error: string }).error).toBe("invalid_grant");
  });

  test("the code and the PKCE verifier get a read-only token", async () => {
    const res = await fetch(`${app.url}${oauthPaths.token}`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: clientId,
        redirect_uri: bridgeUrl(),
        code,
        code_verifier: verifier,
      }),
    });
    const body = (await res.json()) as { access_token: string; scope: string };
    expect([res.status, body.scope]).toEqual([200, "mcp:read"]);
    accessToken = body.access_token;
  });

  test("the token lists tools on /mcp", async () => {
    const client = new Client({ name: "figma-plugin", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });
});
