import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { createUser } from "../../src/accounts/users.ts";
import { codePrefix } from "../../src/oauth/authorizations.ts";
import { oauthPaths } from "../../src/oauth/paths.ts";
import { scopeDescriptions } from "../../src/oauth/scopes.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { chromiumForTests, launchChromium, submitSignIn } from "./chromium.ts";

// A person connects apps through sign-in and the consent page in headless
// Chromium, against the real server: a dynamically registered client and a
// Client ID Metadata Document client, each sending the browser back to a
// loopback callback (the CSP form-action widening is exercised for real).

const chromiumPath = chromiumForTests();
const email = "ada@example.com";
const password = "correct horse battery staple";
// One known PKCE verifier for every request, and its S256 challenge (RFC 7636 §4.2).
const verifier = "consent-browser-test-verifier-0123456789-abcdefgh";
const challenge = new Bun.CryptoHasher("sha256").update(verifier).digest("base64url");
const screenshotPath = "/tmp/gatehouse-consent.png";

// Each step drives a real browser over real HTTP; the first also starts Chromium.
setDefaultTimeout(30_000);

type Server = ReturnType<typeof Bun.serve>;
let app: TestApp;
let browser: Browser;
/** The app's loopback callback: records each query it receives and answers "ok". */
let callbackServer: Server;
/** Serves the metadata document at /client.json. */
let documentServer: Server;
const received: URLSearchParams[] = [];
/** Every dialog (alert, confirm, ...) any page opened. */
const dialogs: string[] = [];
/** Console output of every page, shown when the browser never reaches the callback (a CSP block says why there). */
const consoleLines: string[] = [];

const callbackUrl = () => `http://127.0.0.1:${callbackServer.port}/callback`;
const documentUrl = () => `http://127.0.0.1:${documentServer.port}/client.json`;

beforeAll(async () => {
  if (chromiumPath === null) return;
  app = await createTestApp();
  await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: false,
    now: Math.floor(Date.now() / 1000),
  });
  callbackServer = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== "/callback") return new Response("not found", { status: 404 });
      received.push(url.searchParams);
      return new Response("ok");
    },
  });
  documentServer = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      if (new URL(req.url).pathname !== "/client.json") return new Response("not found", { status: 404 });
      return Response.json({
        client_id: documentUrl(),
        client_name: "Example Editor",
        redirect_uris: [callbackUrl()],
        token_endpoint_auth_method: "none",
      });
    },
  });
  browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  await browser?.close();
  callbackServer?.stop(true);
  documentServer?.stop(true);
  await app?.close();
});

async function newPage(): Promise<Page> {
  const page = await (await browser.newContext({ baseURL: app.url })).newPage();
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  return page;
}

const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });
const accessChoice = (page: Page, level: string) => page.getByRole("radio", { name: new RegExp(`^${level}:`) });

/** Fills and submits the password form of the sign-in page the browser is on. */
function signIn(page: Page): Promise<void> {
  return submitSignIn(page, email, password);
}

function authorizeUrl(clientId: string, state: string): string {
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: callbackUrl(),
    scope: "mcp:read mcp:write",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  return `${app.url}${oauthPaths.authorize}?${query}`;
}

/** RFC 7591: a public client sending the browser back to the loopback callback. */
async function registerClient(clientName: string): Promise<string> {
  const res = await fetch(`${app.url}${oauthPaths.register}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: clientName,
      redirect_uris: [callbackUrl()],
      token_endpoint_auth_method: "none",
    }),
  });
  if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { client_id: string }).client_id;
}

/** Clicks Allow or Deny, waits for the browser to load the callback, and returns the one query it received. */
async function answer(page: Page, name: "Allow" | "Deny"): Promise<URLSearchParams> {
  const before = received.length;
  const arrived = page.waitForURL((url) => url.href.startsWith(`${callbackUrl()}?`), { timeout: 10_000 });
  await button(page, name).click();
  await arrived.catch((error: unknown) => {
    throw new Error(
      `the browser never reached the callback; it is on ${page.url()}\n${String(error)}\nconsole:\n${consoleLines.join("\n")}`,
    );
  });
  expect(received.length).toBe(before + 1);
  return received.at(-1)!;
}

/** RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5), as a public client. */
function exchangeCode(clientId: string, code: string): Promise<Response> {
  return fetch(`${app.url}${oauthPaths.token}`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: clientId,
      redirect_uri: callbackUrl(),
      code,
      code_verifier: verifier,
    }),
  });
}

interface ConsentFlow {
  title: string;
  state: string;
  /** The client's id and the name the consent page should show. */
  client: () => Promise<{ id: string; name: string }>;
  /** The host a metadata document came from, shown on the page; null for a registered client. */
  metadataHost: () => string | null;
  access: "Full" | "Read-only";
  grantedScope: string;
  screenshot?: string;
}

function describeConsentFlow(flow: ConsentFlow): void {
  describe.skipIf(chromiumPath === null)(flow.title, () => {
    let page: Page;
    let client: { id: string; name: string };
    let requestUrl = "";
    let code = "";

    test("the authorize link, opened signed out, lands on the sign-in page", async () => {
      client = await flow.client();
      requestUrl = authorizeUrl(client.id, flow.state);
      page = await newPage();
      await page.goto(requestUrl);
      expect(new URL(page.url()).pathname).toBe("/sign-in");
    });

    test("signing in with email and password returns to the same authorize request", async () => {
      await signIn(page);
      expect(page.url()).toBe(requestUrl);
    });

    test("the consent page names the client", async () => {
      expect(await page.locator("#consent h1 strong").textContent()).toBe(client.name);
    });

    test("the consent page names the host the answer goes to", async () => {
      expect(await page.locator("#redirect-host strong").textContent()).toBe(`127.0.0.1:${callbackServer.port}`);
    });

    test("the consent page names the metadata document's host only for a document client", async () => {
      const host = flow.metadataHost();
      expect(await page.locator("#metadata-host strong").allTextContents()).toEqual(host === null ? [] : [host]);
    });

    test("the consent page says what each requested scope allows", async () => {
      expect(await page.locator("#scopes li").allTextContents()).toEqual([
        scopeDescriptions["mcp:read"],
        scopeDescriptions["mcp:write"],
      ]);
    });

    test("the consent page offers Full, chosen, and Read-only", async () => {
      expect(await accessChoice(page, "Full").isChecked()).toBe(true);
      expect(await accessChoice(page, "Read-only").isChecked()).toBe(false);
      if (flow.screenshot) await page.screenshot({ path: flow.screenshot, fullPage: true });
    });

    test(`Allow with ${flow.access} sends the browser to the callback with a code, the state and iss`, async () => {
      await accessChoice(page, flow.access).check();
      const query = await answer(page, "Allow");
      expect([...query.keys()].sort()).toEqual(["code", "iss", "state"]);
      expect(query.get("state")).toBe(flow.state);
      expect(query.get("iss")).toBe(app.url);
      code = query.get("code")!;
      expect(code).toStartWith(codePrefix);
    });

    test(`the code and the verifier get tokens scoped ${flow.grantedScope}`, async () => {
      const res = await exchangeCode(client.id, code);
      const body = (await res.json()) as Record<string, unknown>;
      expect({ status: res.status, scope: body.scope }).toEqual({ status: 200, scope: flow.grantedScope });
    });
  });
}

describeConsentFlow({
  title: "a client registered with POST /oauth/register, allowed Full access",
  state: "state-dcr-full",
  client: async () => ({ id: await registerClient("Claude"), name: "Claude" }),
  metadataHost: () => null,
  access: "Full",
  grantedScope: "mcp:read mcp:write",
});

describeConsentFlow({
  title: "a Client ID Metadata Document client, allowed Read-only access",
  state: "state-cimd-read",
  client: async () => ({ id: documentUrl(), name: "Example Editor" }),
  metadataHost: () => `127.0.0.1:${documentServer.port}`,
  access: "Read-only",
  grantedScope: "mcp:read",
  screenshot: screenshotPath,
});

describe.skipIf(chromiumPath === null)("a signed-in person on the consent page", () => {
  let page: Page;
  const markup = "<script>alert(1)</script><img src=x onerror=alert(2)>";

  test("Deny sends the browser to the callback with access_denied, the state and iss", async () => {
    page = await newPage();
    await page.goto("/sign-in");
    await signIn(page);
    await page.goto(authorizeUrl(documentUrl(), "state-deny"));
    const query = await answer(page, "Deny");
    expect(query.get("error")).toBe("access_denied");
    expect(query.get("state")).toBe("state-deny");
    expect(query.get("iss")).toBe(app.url);
    expect(query.has("code")).toBe(false);
  });

  test("a client named with markup is shown as text and runs nothing", async () => {
    await page.goto(authorizeUrl(await registerClient(markup), "state-markup"));
    expect(await page.locator("#consent h1 strong").textContent()).toBe(markup);
    expect(await page.locator("main script, main img").count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  test("the consent page forbids framing and sends no referrer", async () => {
    const res = await page.goto(authorizeUrl(documentUrl(), "state-headers"));
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(res?.headers()["referrer-policy"]).toBe("no-referrer");
  });
});
