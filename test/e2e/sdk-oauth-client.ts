// The MCP client SDK v2's own OAuth, driven for real: an OAuthClientProvider
// that keeps what the SDK hands it in memory and, when the SDK sends the user
// to authorize, signs in and answers the consent page in headless Chromium,
// then waits for the browser to arrive at a loopback callback receiver.
import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from "@modelcontextprotocol/client";
import type { BrowserContext, Page } from "playwright-core";
import { consentBody, consentFields, type ConsentChoice } from "./consent-form.ts";

/** A loopback redirect target (RFC 8252 §7.3) that hands each query it receives to whoever waits for it (one flow at a time). */
export class CallbackReceiver {
  private readonly server: ReturnType<typeof Bun.serve>;
  private waiters: ((query: URLSearchParams) => void)[] = [];

  constructor() {
    this.server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => {
        const url = new URL(req.url);
        if (url.pathname !== "/callback") return new Response("not found", { status: 404 });
        for (const resolve of this.waiters.splice(0)) resolve(url.searchParams);
        return new Response("You can close this window.");
      },
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}/callback`;
  }

  /** The query of the next request to the callback. */
  next(): Promise<URLSearchParams> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stop(): void {
    this.server.stop(true);
  }
}

export interface Person {
  email: string;
  password: string;
}

/** Signs in on the sign-in page if the browser was sent there, then answers the consent page (and does not wait for what follows). */
export async function authorizeInBrowser(page: Page, url: URL, person: Person, choice: ConsentChoice): Promise<void> {
  await page.goto(url.href);
  if (new URL(page.url()).pathname === "/sign-in") {
    await page.getByLabel("Email").fill(person.email);
    await page.getByLabel("Password", { exact: true }).fill(person.password);
    const back = page.waitForURL((u) => u.pathname === url.pathname, { waitUntil: "load" });
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await back;
  }
  // The shared helper decides which fields a person would send; the browser ticks them and submits.
  const sent = [...consentBody(consentFields(await page.content(), choice))];
  const form = page.locator('form[action="/oauth/authorize"]');
  const inputs = form.locator('input[type="radio"], input[type="checkbox"]');
  // One round trip to read every box, then a click only where the page differs from the answer.
  const boxes = await inputs.evaluateAll((elements) =>
    elements.map((e) => ({
      type: e.getAttribute("type"),
      name: e.getAttribute("name"),
      value: e.getAttribute("value") ?? "on",
      checked: (e as HTMLInputElement).checked,
    })),
  );
  for (const [i, box] of boxes.entries()) {
    const wanted = sent.some(([name, value]) => name === box.name && value === box.value);
    // A radio is never unticked itself: ticking the wanted one does that.
    if (wanted !== box.checked && (wanted || box.type === "checkbox")) await inputs.nth(i).setChecked(wanted);
  }
  await form.locator(`button[name="decision"][value="${choice.button}"]`).click();
}

/**
 * What a desktop MCP client keeps between runs, kept in memory; each time the
 * SDK redirects to authorization, the next consent choice is given in the browser.
 */
export class BrowserOAuthProvider implements OAuthClientProvider {
  client?: StoredOAuthClientInformation;
  saved?: StoredOAuthTokens;
  /** Every token set the SDK saved, oldest first. */
  tokenHistory: StoredOAuthTokens[] = [];
  /** Every authorization URL the SDK built, oldest first. */
  authorizationUrls: URL[] = [];
  /** The query of every callback the browser arrived at, oldest first. */
  callbacks: URLSearchParams[] = [];
  /** The state sent with each authorization request, oldest first. */
  states: string[] = [];
  /** What the SDK found by discovery (RFC 9728, RFC 8414), kept across the redirect as the SDK asks. */
  discovery?: OAuthDiscoveryState;
  private verifier?: string;

  constructor(
    private readonly opts: {
      clientName: string;
      receiver: CallbackReceiver;
      context: BrowserContext;
      person: Person;
      /** Consent answers for the coming authorizations, taken in order. */
      choices: ConsentChoice[];
    },
  ) {}

  get redirectUrl(): string {
    return this.opts.receiver.url;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.opts.clientName,
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  state(): string {
    const state = crypto.randomUUID();
    this.states.push(state);
    return state;
  }

  clientInformation() {
    return this.client;
  }

  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.client = info;
  }

  tokens() {
    return this.saved;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.saved = tokens;
    this.tokenHistory.push(tokens);
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.verifier) throw new Error("no PKCE verifier was saved");
    return this.verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }

  discoveryState() {
    return this.discovery;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url);
    const choice = this.opts.choices.shift();
    if (!choice) throw new Error(`unexpected authorization request: ${url}`);
    const page = await this.opts.context.newPage();
    try {
      const arrived = this.opts.receiver.next();
      // The page is closed only once the callback page has loaded: closing it mid-navigation can stall Chromium.
      const landed = page
        .waitForURL((u) => u.href.startsWith(`${this.redirectUrl}?`), { waitUntil: "load", timeout: 10_000 })
        .catch((error: unknown) => {
          throw new Error(`the browser never reached the callback; it is on ${page.url()}: ${String(error)}`);
        });
      landed.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
      await authorizeInBrowser(page, url, this.opts.person, choice);
      const [query] = await Promise.all([arrived, landed]);
      this.callbacks.push(query);
    } finally {
      await page.close();
    }
  }

  /** The last callback's query, after checking its state is the one this client sent (the SDK leaves that to us). */
  lastCallback(): URLSearchParams {
    const query = this.callbacks.at(-1);
    if (!query) throw new Error("the browser never reached the callback");
    if (query.get("state") !== this.states.at(-1))
      throw new Error(`callback state ${query.get("state")} is not ${this.states.at(-1)}`);
    return query;
  }
}
