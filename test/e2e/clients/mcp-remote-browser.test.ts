import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { and, eq, inArray } from "drizzle-orm";
import type { Browser } from "playwright-core";
import { findClientById, listClients } from "../../../src/oauth/clients-store.ts";
import { freePort } from "../../helpers.ts";
import { structured, userWithKey } from "../../mcp/fixture.ts";
import { nowSeconds } from "../../oauth/token-fixture.ts";
import { chromiumForTests, launchChromium } from "../chromium.ts";
import { approveConsentInChromium, useGatehouse } from "./fixture.ts";
import { McpRemote, McpRemoteHome } from "./mcp-remote.ts";

// mcp-remote 0.15.1, the stdio bridge many desktop hosts (Claude Desktop's
// config among them) use for remote servers, as a real client: a host's MCP
// client spawns it over stdio with Gatehouse's /mcp and a callback port; it
// discovers, registers by DCR with its loopback redirect, and "opens the
// browser", where the person signs in and consents in Chromium. Then calls
// over its stdio, a silent refresh, and its transport and protocol options.

const chromiumPath = chromiumForTests();
const fullScope = "mcp:read mcp:write";

setDefaultTimeout(30_000);

/** Added to the app's clock, to expire the access token without waiting. */
let skewSeconds = 0;
const gate = useGatehouse({ now: () => nowSeconds() + skewSeconds });
const callbackPort = freePort();
const redirectUri = `http://localhost:${callbackPort}/oauth/callback`;
const home = new McpRemoteHome();
let browser: Browser;

beforeAll(async () => {
  if (chromiumPath !== null) browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  await browser?.close();
  home.remove();
});

const mcpUrl = () => `${gate.app.url}/mcp`;
/** A run of the proxy against this Gatehouse, always on the same callback port (a new port means a new registration). */
const proxy = (...flags: string[]) => new McpRemote(home, [mcpUrl(), String(callbackPort), ...flags]);
const whoami = async (remote: McpRemote) =>
  structured(await remote.client.callTool({ name: "gatehouse__whoami", arguments: {} }));

describe.skipIf(chromiumPath === null)("mcp-remote 0.15.1 spawned by a host over stdio, first run", () => {
  let remote: McpRemote;
  let connecting: Promise<void>;
  let authorization: URL;
  let clientId: string;

  afterAll(() => remote?.close());

  test("with no tokens it registers by DCR with its loopback redirect, then asks for authorization with PKCE, resource and the challenged scope", async () => {
    remote = proxy();
    connecting = remote.connect();
    connecting.catch(() => {}); // awaited after consent; this only keeps an early failure from going unhandled
    authorization = await remote.authorizationUrl();
    const q = authorization.searchParams;
    clientId = q.get("client_id")!;
    expect(await findClientById(gate.app.db, clientId)).toMatchObject({
      kind: "dcr",
      name: "MCP CLI Proxy",
      redirectUris: [redirectUri],
      tokenEndpointAuthMethod: "none",
    });
    expect({
      redirect: q.get("redirect_uri"),
      resource: q.get("resource"),
      scope: q.get("scope"),
      method: q.get("code_challenge_method"),
    }).toEqual({
      redirect: redirectUri,
      resource: mcpUrl(),
      scope: fullScope,
      method: "S256",
    });
  });

  test("its browser launch reached the recording opener with that URL, and no desktop browser", async () => {
    await remote.waitForLog(/Browser opened automatically/);
    const opened = (await home.waitForOpened(1)).map((u) => new URL(u));
    expect(opened).toHaveLength(1);
    expect(Object.fromEntries(opened[0]!.searchParams)).toEqual(Object.fromEntries(authorization.searchParams));
  });

  test("after sign-in and consent in Chromium, the browser lands on its callback and the host's initialize completes", async () => {
    const page = await (await browser.newContext()).newPage();
    const back = await approveConsentInChromium(page, gate, authorization, redirectUri);
    expect(back.searchParams.get("iss")).toBe(gate.app.url);
    await connecting;
    expect(remote.client.getServerVersion()?.name).toBeString();
  });

  test("tools/list and gatehouse__whoami answer over its stdio, as the person through the MCP CLI Proxy connection", async () => {
    const { tools } = await remote.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(["gatehouse__whoami", "gatehouse__list_connections", "gatehouse__revoke_connection"]),
    );
    expect(await whoami(remote)).toMatchObject({
      email: gate.email,
      via: "connection",
      name: "MCP CLI Proxy",
      access: "full",
      scope: fullScope,
    });
  });

  /** The client's token_refreshed audit events, once waiting entries are written. */
  async function refreshEvents() {
    const { auditEvents } = gate.app.db.tables;
    await gate.app.audit.drain();
    return await gate.app.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.event, "token_refreshed"), eq(auditEvents.clientId, clientId)));
  }

  test("once the access token has expired, the next call still succeeds: it refreshed without a second consent", async () => {
    expect(await refreshEvents()).toHaveLength(0);
    skewSeconds += gate.app.config.accessTokenTtlSeconds + 1;
    expect(await whoami(remote)).toMatchObject({ email: gate.email, name: "MCP CLI Proxy" });
    expect(home.opened()).toHaveLength(1);
    expect(remote.stderr.match(/Please authorize this client/g)).toHaveLength(1);
  });

  test("the database shows the refresh: a token_refreshed audit event and the first refresh token rotated", async () => {
    const { oauthGrants, oauthTokens } = gate.app.db.tables;
    expect((await refreshEvents()).length).toBeGreaterThanOrEqual(1);
    const grantIds = (await gate.app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, clientId))).map(
      (g) => g.id,
    );
    const refreshTokens = await gate.app.db
      .select()
      .from(oauthTokens)
      .where(and(eq(oauthTokens.kind, "refresh"), inArray(oauthTokens.grantId, grantIds)));
    expect(grantIds).toHaveLength(1);
    expect(refreshTokens.filter((t) => t.rotatedAt !== null).length).toBeGreaterThanOrEqual(1);
    expect(refreshTokens.filter((t) => t.rotatedAt === null && t.revokedAt === null)).toHaveLength(1);
  });
});

describe.skipIf(chromiumPath === null)(
  "mcp-remote 0.15.1, later runs: its transport, protocol and header options",
  () => {
    // http-first, the default, is what the first run used.
    test.each([
      ["--transport", "http-only"],
      ["--transport", "sse-first"],
    ])("%s %s connects and calls whoami without a new consent", async (flag, value) => {
      const remote = proxy(flag, value);
      try {
        await remote.connect();
        expect(await whoami(remote)).toMatchObject({ email: gate.email, name: "MCP CLI Proxy" });
        expect(remote.stderr).toContain("Connected to remote server using StreamableHTTPClientTransport");
        expect(home.opened()).toHaveLength(1);
      } finally {
        await remote.close();
      }
    });

    test("--protocol auto finds that Gatehouse speaks 2026-07-28 and bridges the host's 2025 handshake to it", async () => {
      const remote = proxy("--protocol", "auto");
      try {
        await remote.connect();
        expect(await whoami(remote)).toMatchObject({ email: gate.email, name: "MCP CLI Proxy" });
        expect(remote.stderr).toContain("Remote server speaks MCP 2026-07-28");
      } finally {
        await remote.close();
      }
    });

    test("with an API key in --header (the variable form its README gives for host configs) it connects with no registration and no browser", async () => {
      const { user, token } = await userWithKey(gate.app);
      const registrations = (await listClients(gate.app.db)).length;
      const remote = new McpRemote(home, [mcpUrl(), String(callbackPort), "--header", "Authorization:${AUTH_HEADER}"], {
        AUTH_HEADER: `Bearer ${token}`,
      });
      try {
        await remote.connect();
        expect(await whoami(remote)).toMatchObject({ email: user.email, via: "api_key", name: "Laptop" });
        expect(remote.stderr).not.toContain("Please authorize");
        expect(await listClients(gate.app.db)).toHaveLength(registrations);
        expect(home.opened()).toHaveLength(1);
      } finally {
        await remote.close();
      }
    });

    // Gatehouse serves Streamable HTTP only; the HTTP+SSE transport of 2024-11-05 is not offered (GET /mcp is 405).
    test("--transport sse-only cannot connect: GET /mcp for the old HTTP+SSE transport answers 405", async () => {
      const remote = proxy("--transport", "sse-only");
      let failure: unknown;
      try {
        await remote.connect();
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(Error);
      expect(remote.stderr).toMatch(/405/);
    });
  },
);
