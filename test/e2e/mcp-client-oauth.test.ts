import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  Client,
  InsufficientScopeError,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type VersionNegotiationMode,
} from "@modelcontextprotocol/client";
import type { Browser, BrowserContext } from "playwright-core";
import { createUser } from "../../src/accounts/users.ts";
import type { Store } from "../../src/db/store.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import type { Gateway } from "../../src/gateway/gateway.ts";
import { findClientById } from "../../src/oauth/clients-store.ts";
import { findAuthorization, listLiveAuthorizations } from "../../src/oauth/authorizations-store.ts";
import { oauthPaths } from "../../src/oauth/paths.ts";
import { accessTokenPrefix, refreshTokenPrefix } from "../../src/oauth/tokens.ts";
import { findToken } from "../support/rows.ts";
import { parseCredential } from "../../src/security/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { structured } from "../mcp/fixture.ts";
import { chromiumForTests, launchChromium } from "./chromium.ts";
import type { ConsentChoice } from "./consent-form.ts";
import { BrowserOAuthProvider, CallbackReceiver } from "./sdk-oauth-client.ts";
import { everythingEntry } from "../gateway/upstreams.ts";

// The MCP client SDK v2 as the caller, through its own OAuth support: no
// token at first, so the 401 sends it through discovery (RFC 9728, RFC 8414),
// registration (RFC 7591) and PKCE to the authorization endpoint, where a
// person signs in and consents in headless Chromium; the browser lands on the
// client's loopback callback, the SDK redeems the code and connects, for both
// protocol eras. Then a refresh on expiry, and a read-only consent stepping up.

const chromiumPath = chromiumForTests();
const person = { email: "grace@example.com", password: "correct horse battery staple" };
const fullScope = "mcp:read mcp:write";
const readTools = ["gatehouse__whoami", "gatehouse__list_connections"];
const writeTool = "gatehouse__revoke_connection";
/** Full access with the one write tool these tests call ticked on the consent page. */
const full: ConsentChoice = { button: "allow", tools: [writeTool] };

// Each flow drives a real browser over real HTTP, with a real upstream behind the gateway.
setDefaultTimeout(30_000);

let app: TestApp;
/** A second handle on the app's SQLite file: what the server committed, read with the project's stores. */
let db: Store;
let userId: string;
let browser: Browser;
let receiver: CallbackReceiver;
/** Added to the wall clock the app reads, to expire access tokens without waiting. */
let skewSeconds = 0;

beforeAll(async () => {
  if (chromiumPath === null) return;
  const toml = `[[upstream]]\nname = "everything"\ncommand = "node"\nargs = ["${everythingEntry}", "stdio"]\nhide = ["trigger-*", "simulate-*"]\n`;
  app = await createTestApp({
    gateway: parseGatewayConfig("test.toml", toml, {}),
    now: () => Math.floor(Date.now() / 1000) + skewSeconds,
  });
  db = app.db;
  userId = (
    await createUser(app.db, {
      ...person,
      passwordCost: app.config.passwordHashCost,
      isAdmin: false,
      now: Math.floor(Date.now() / 1000),
    })
  ).id;
  receiver = new CallbackReceiver();
  [browser] = await Promise.all([launchChromium(chromiumPath), connected(app.gateway!)]);
});

/** Resolves once every upstream is connected, on the gateway's own change events. */
function connected(gateway: Gateway): Promise<void> {
  return new Promise((resolve) => {
    const check = () => gateway.statuses().every((s) => s.state === "connected") && resolve();
    gateway.onChange(check);
    check();
  });
}

afterAll(async () => {
  await browser?.close();
  receiver?.stop();
  await app?.close();
});

/**
 * What a promise rejects with. Awaited plainly, never with `expect(p).rejects`:
 * bun's matcher spins the event loop inside itself until the promise settles,
 * which starves the browser this flow drives (about a second per step).
 */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

const mcpUrl = () => new URL(`${app.url}/mcp`);
const idOf = (prefix: string, token: string) => parseCredential(prefix, token)!.id;

interface Era {
  title: string;
  mode: VersionNegotiationMode;
  version: RegExp;
}

const eras: Era[] = [
  { title: "2026-07-28 (stateless, server/discover)", mode: { pin: "2026-07-28" }, version: /^2026-07-28$/ },
  { title: "2025-11-25 (the initialize handshake)", mode: "legacy", version: /^2025-11-25$/ },
];

/** One client app: the SDK's transport and client over the provider, connected anew as an app does after each redirect. */
class App {
  transport!: StreamableHTTPClientTransport;
  client!: Client;
  constructor(
    readonly era: Era,
    readonly provider: BrowserOAuthProvider,
    readonly onInsufficientScope: "reauthorize" | "throw" = "reauthorize",
  ) {}

  connect(): Promise<void> {
    this.transport = new StreamableHTTPClientTransport(mcpUrl(), {
      authProvider: this.provider,
      onInsufficientScope: this.onInsufficientScope,
    });
    this.client = new Client(
      { name: "gatehouse-e2e", version: "1.0.0" },
      { versionNegotiation: { mode: this.era.mode } },
    );
    return this.client.connect(this.transport);
  }

  /** What an app does on the callback: check state, redeem the code (checking iss, RFC 9207), connect again. */
  async finishAuthAndConnect(): Promise<void> {
    await this.transport.finishAuth(this.provider.lastCallback());
    await this.connect();
  }

  whoami() {
    return this.client.callTool({ name: "gatehouse__whoami", arguments: {} });
  }
}

async function newProvider(
  clientName: string,
  choices: ConsentChoice[],
): Promise<{ provider: BrowserOAuthProvider; context: BrowserContext }> {
  const context = await browser.newContext();
  return { context, provider: new BrowserOAuthProvider({ clientName, receiver, context, person, choices }) };
}

function describeFullAccess(era: Era): void {
  describe.skipIf(chromiumPath === null)(`the SDK's own OAuth, Full access, protocol ${era.title}`, () => {
    const clientName = `SDK e2e ${era.title}`;
    let provider: BrowserOAuthProvider;
    let context: BrowserContext;
    let mcp: App;

    beforeAll(async () => {
      ({ provider, context } = await newProvider(clientName, [full]));
      mcp = new App(era, provider);
    });
    afterAll(() => context?.close());

    test("connecting with no token ends in the SDK's UnauthorizedError after it sent the browser to authorize", async () => {
      expect(await rejectionOf(mcp.connect())).toBeInstanceOf(UnauthorizedError);
      expect(provider.authorizationUrls).toHaveLength(1);
    });

    test("the SDK discovered the metadata the 401 names and the authorization server it lists", () => {
      expect(provider.discovery).toMatchObject({
        resourceMetadataUrl: `${app.url}/.well-known/oauth-protected-resource/mcp`,
        resourceMetadata: { resource: `${app.url}/mcp`, authorization_servers: [app.url] },
        authorizationServerUrl: app.url,
        authorizationServerMetadata: { issuer: app.url, registration_endpoint: `${app.url}${oauthPaths.register}` },
      });
    });

    test("the SDK registered by DCR with the client's metadata", async () => {
      const registered = await findClientById(db, provider.client!.client_id);
      expect(registered).toMatchObject({
        kind: "dcr",
        name: clientName,
        redirectUris: [receiver.url],
        tokenEndpointAuthMethod: "none",
      });
    });

    test("the authorization URL carries PKCE S256, the resource, the challenged scope and the loopback redirect", () => {
      const url = provider.authorizationUrls[0]!;
      expect(url.origin + url.pathname).toBe(`${app.url}${oauthPaths.authorize}`);
      const q = url.searchParams;
      expect({
        response_type: q.get("response_type"),
        method: q.get("code_challenge_method"),
        resource: q.get("resource"),
        scope: q.get("scope"),
        redirect: q.get("redirect_uri"),
      }).toEqual({
        response_type: "code",
        method: "S256",
        resource: `${app.url}/mcp`,
        scope: fullScope,
        redirect: receiver.url,
      });
      expect(q.get("client_id")).toBe(provider.client!.client_id);
      expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    test("the browser arrived at the callback with a code, the state and iss", () => {
      const query = provider.lastCallback();
      expect([...query.keys()].sort()).toEqual(["code", "iss", "state"]);
      expect(query.get("iss")).toBe(app.url);
    });

    test(`finishAuth redeems the code; the SDK connects on protocol ${era.title}`, async () => {
      await mcp.finishAuthAndConnect();
      expect(provider.saved!.scope).toBe(fullScope);
      expect(provider.saved!.refresh_token).toStartWith(refreshTokenPrefix);
      expect(mcp.client.getNegotiatedProtocolVersion()).toMatch(era.version);
    });

    test("tools/list shows the built-in tools and the upstream's", async () => {
      const names = (await mcp.client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(
        expect.arrayContaining([...readTools, writeTool, "everything__echo", "everything__get-sum"]),
      );
    });

    test("whoami answers as the connection of the registered client and the signed-in person", async () => {
      expect(structured(await mcp.whoami())).toMatchObject({
        email: person.email,
        via: "connection",
        name: clientName,
        access: "full",
        scope: fullScope,
        write_tools: [writeTool],
      });
    });

    test("a forwarded upstream tool answers", async () => {
      const result = await mcp.client.callTool({ name: "everything__get-sum", arguments: { a: 2, b: 3 } });
      expect(result.isError).toBeFalsy();
      expect(JSON.stringify(result.content)).toContain("5");
    });

    test("the database holds the person's live full grant to that client, for /mcp, with the ticked write tool", async () => {
      const grants = (await listLiveAuthorizations(db, userId)).filter(
        (g) => g.authorization.clientId === provider.client!.client_id,
      );
      expect(
        grants.map((g) => ({
          scope: g.authorization.scope,
          tools: g.authorization.tools,
          resource: g.authorization.resource,
          client: g.clientName,
        })),
      ).toEqual([{ scope: fullScope, tools: [writeTool], resource: `${app.url}/mcp`, client: clientName }]);
      const access = (await findToken(db, idOf(accessTokenPrefix, provider.saved!.access_token)))!;
      expect(access).toMatchObject({ kind: "access", grantId: grants[0]!.authorization.id, revokedAt: null });
    });

    test("once the access token expires, the SDK refreshes on the 401 and the call goes through", async () => {
      const before = provider.saved!;
      skewSeconds += app.config.accessTokenTtlSeconds;
      expect(structured(await mcp.whoami())).toMatchObject({
        email: person.email,
        via: "connection",
        name: clientName,
      });
      expect(provider.saved!.access_token).not.toBe(before.access_token);
      expect(provider.saved!.refresh_token).not.toBe(before.refresh_token);
      expect(provider.authorizationUrls).toHaveLength(1);
    });

    test("the refresh rotated the stored refresh token, within the same grant", async () => {
      const old = (await findToken(db, idOf(refreshTokenPrefix, provider.tokenHistory.at(-2)!.refresh_token!)))!;
      const next = (await findToken(db, idOf(refreshTokenPrefix, provider.saved!.refresh_token!)))!;
      expect(old.rotatedAt).not.toBeNull();
      expect(old.nextRefreshId).toBe(next.id);
      expect(next.grantId).toBe(old.grantId);
    });
  });
}

function describeReadOnly(era: Era): void {
  describe.skipIf(chromiumPath === null)(
    `the SDK's own OAuth, Read-only access stepping up, protocol ${era.title}`,
    () => {
      const clientName = `SDK e2e read-only ${era.title}`;
      let provider: BrowserOAuthProvider;
      let context: BrowserContext;
      let mcp: App;
      let readGrantId: string;

      beforeAll(async () => {
        ({ provider, context } = await newProvider(clientName, [{ button: "allow", access: "read" }, full]));
        mcp = new App(era, provider);
      });
      afterAll(() => context?.close());

      test("after a Read-only consent the SDK connects with tokens scoped mcp:read", async () => {
        expect(await rejectionOf(mcp.connect())).toBeInstanceOf(UnauthorizedError);
        await mcp.finishAuthAndConnect();
        expect(provider.saved!.scope).toBe("mcp:read");
        const { connections } = structured(
          await mcp.client.callTool({ name: "gatehouse__list_connections", arguments: {} }),
        );
        readGrantId = connections.find((c: { current: boolean }) => c.current).id;
        expect(await findAuthorization(db, readGrantId)).toMatchObject({
          scope: "mcp:read",
          clientId: provider.client!.client_id,
          revokedAt: null,
        });
      });

      test("tools/list shows only read tools", async () => {
        const { tools } = await mcp.client.listTools();
        expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining([...readTools, "everything__echo"]));
        expect(tools.map((t) => t.name)).not.toContain(writeTool);
        expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
      });

      test("a write tool call raises InsufficientScopeError naming mcp:read mcp:write, with step-up off", async () => {
        const strict = new App(era, provider, "throw");
        await strict.connect();
        const error = await rejectionOf(
          strict.client.callTool({ name: writeTool, arguments: { kind: "connection", id: readGrantId } }),
        );
        expect(error).toBeInstanceOf(InsufficientScopeError);
        expect((error as InsufficientScopeError).requiredScope).toBe(fullScope);
        expect(provider.authorizationUrls).toHaveLength(1);
      });

      test("with step-up on, the SDK sends the browser to authorize again asking for mcp:read mcp:write", async () => {
        const call = mcp.client.callTool({ name: writeTool, arguments: { kind: "connection", id: readGrantId } });
        expect(await rejectionOf(call)).toBeInstanceOf(UnauthorizedError);
        expect(provider.authorizationUrls).toHaveLength(2);
        const stepUp = provider.authorizationUrls[1]!.searchParams;
        expect({ scope: stepUp.get("scope"), client: stepUp.get("client_id") }).toEqual({
          scope: fullScope,
          client: provider.client!.client_id,
        });
      });

      test("after Full consent the stepped-up client calls the write tool, revoking the read-only connection", async () => {
        await mcp.finishAuthAndConnect();
        expect(provider.saved!.scope).toBe(fullScope);
        const result = await mcp.client.callTool({
          name: writeTool,
          arguments: { kind: "connection", id: readGrantId },
        });
        expect(structured(result)).toEqual({ revoked: true, kind: "connection", id: readGrantId });
        expect((await findAuthorization(db, readGrantId))!.revokedAt).not.toBeNull();
        expect(
          (await listLiveAuthorizations(db, userId))
            .filter((g) => g.authorization.clientId === provider.client!.client_id)
            .map((g) => g.authorization.scope),
        ).toEqual([fullScope]);
      });
    },
  );
}

for (const era of eras) {
  describeFullAccess(era);
  describeReadOnly(era);
}
