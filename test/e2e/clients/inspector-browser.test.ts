import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { findClientById } from "../../../src/oauth/clients-store.ts";
import { chromiumForTests, launchChromium } from "../chromium.ts";
import { approveConsentInChromium, useGatehouse } from "./fixture.ts";
import { inspectorPage } from "./inspector-page.ts";

// The MCP Inspector in a browser (docs/field-failures.md "Clients as they behave"):
// its page at http://localhost:6274 does discovery, DCR, the token exchange,
// refreshes and /mcp calls itself, cross-origin, so every one of them needs
// CORS, and the 401's WWW-Authenticate must be exposed to its script.
// Gatehouse runs with GATEHOUSE_ALLOWED_ORIGINS=http://localhost:6274. The
// page comes from a loopback server on a free port, which Chromium reaches
// for localhost:6274 (--host-resolver-rules), so the origin is exactly the
// Inspector's and parallel runs cannot collide on port 6274.

const chromiumPath = chromiumForTests();
const origin = "http://localhost:6274";
const redirectUri = `${origin}/oauth/callback/debug`;
const fullScope = "mcp:read mcp:write";

setDefaultTimeout(30_000);

const gate = useGatehouse({ env: { GATEHOUSE_ALLOWED_ORIGINS: origin } });
let inspectorServer: ReturnType<typeof Bun.serve>;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (chromiumPath === null) return;
  // Every path answers with the page, the callback included, as the Inspector's single-page app does.
  inspectorServer = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => new Response(inspectorPage, { headers: { "content-type": "text/html" } }),
  });
  browser = await launchChromium(chromiumPath, [
    `--host-resolver-rules=MAP localhost:6274 127.0.0.1:${inspectorServer.port}`,
  ]);
  page = await (await browser.newContext()).newPage();
  await page.goto(`${origin}/`);
});

afterAll(async () => {
  await browser?.close();
  inspectorServer?.stop(true);
});

type Json = Record<string, any>;
/** Runs one of the page's steps (see inspector-page.ts) in the browser. */
function inspector<T = Json>(step: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(([name, rest]) => (window as any).inspector[name as string](...(rest as unknown[])), [
    step,
    args,
  ] as const);
}

describe.skipIf(chromiumPath === null)(
  "the MCP Inspector's guided OAuth flow, from a page at http://localhost:6274",
  () => {
    const mcpUrl = () => `${gate.app.url}/mcp`;
    let server: Json;
    let clientId: string;
    let tokens: Json;
    let refreshed: Json;

    test("reads the /mcp 401 with its WWW-Authenticate, then both metadata documents, across origins", async () => {
      const found = await inspector("discover", mcpUrl());
      expect(found.status).toBe(401);
      expect(found.challenge).toBe(
        `Bearer resource_metadata="${gate.app.url}/.well-known/oauth-protected-resource/mcp", scope="${fullScope}"`,
      );
      expect(found.resource).toMatchObject({ resource: mcpUrl(), authorization_servers: [gate.app.url] });
      expect(found.server).toMatchObject({
        issuer: gate.app.url,
        registration_endpoint: `${gate.app.url}/oauth/register`,
      });
      server = found.server;
    });

    test("registers by DCR from the page with its debug callback", async () => {
      const registered = await inspector("register", server.registration_endpoint, redirectUri);
      expect(registered.status).toBe(201);
      clientId = registered.body.client_id;
      expect(await findClientById(gate.app.db, clientId)).toMatchObject({
        name: "MCP Inspector",
        redirectUris: [redirectUri],
        tokenEndpointAuthMethod: "none",
      });
    });

    test("after sign-in and consent in the same tab, lands on /oauth/callback/debug with the code, state and iss", async () => {
      const url = await inspector<string>("authorizeUrl", server.authorization_endpoint, {
        client_id: clientId,
        redirect_uri: redirectUri,
        scope: fullScope,
        resource: mcpUrl(),
        state: "inspector-1",
      });
      const back = await approveConsentInChromium(page, gate, new URL(url), redirectUri);
      expect({ state: back.searchParams.get("state"), iss: back.searchParams.get("iss") }).toEqual({
        state: "inspector-1",
        iss: gate.app.url,
      });
      const exchange = {
        grant_type: "authorization_code",
        client_id: clientId,
        code: back.searchParams.get("code")!,
        redirect_uri: redirectUri,
        code_verifier: await inspector<string>("verifier"),
        resource: mcpUrl(),
      };
      const answer = await inspector("token", server.token_endpoint, exchange);
      expect([answer.status, answer.body.scope]).toEqual([200, fullScope]);
      tokens = answer.body;
    });

    test("calls tools/list and gatehouse__whoami on /mcp from the page with the token", async () => {
      const list = await inspector("call", mcpUrl(), tokens.access_token, "tools/list", {});
      expect(list.status).toBe(200);
      expect(list.body.result.tools.map((t: Json) => t.name)).toEqual(
        expect.arrayContaining(["gatehouse__whoami", "gatehouse__revoke_connection"]),
      );
      const me = await inspector("call", mcpUrl(), tokens.access_token, "tools/call", {
        name: "gatehouse__whoami",
        arguments: {},
      });
      expect(me.body.result.structuredContent).toMatchObject({
        email: gate.email,
        via: "connection",
        name: "MCP Inspector",
      });
    });

    test("two refreshes at once from the page get the same new pair", async () => {
      const form = {
        grant_type: "refresh_token",
        client_id: clientId,
        refresh_token: tokens.refresh_token,
        resource: mcpUrl(),
      };
      const [first, second] = await Promise.all([
        inspector("token", server.token_endpoint, form),
        inspector("token", server.token_endpoint, form),
      ]);
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.body.access_token).toBe(first.body.access_token);
      expect(second.body.refresh_token).toBe(first.body.refresh_token);
      expect(first.body.refresh_token).not.toBe(tokens.refresh_token);
      refreshed = first.body;
    });

    test("the refreshed token calls gatehouse__whoami from the page", async () => {
      const me = await inspector("call", mcpUrl(), refreshed.access_token, "tools/call", {
        name: "gatehouse__whoami",
        arguments: {},
      });
      expect(me.status).toBe(200);
      expect(me.body.result.structuredContent).toMatchObject({
        email: gate.email,
        via: "connection",
        name: "MCP Inspector",
      });
    });
  },
);
