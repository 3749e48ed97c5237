import { describe, expect, test } from "bun:test";
import { findClientById, upsertClient } from "../../../src/oauth/clients-store.ts";
import { nowSeconds } from "../../oauth/token-fixture.ts";
import { authorizeUrl, exchange, tokenRequest } from "../field-failures-fixture.ts";
import { approveConsent, useGatehouse } from "./fixture.ts";
import { describeClientFlow, knownDocument, registerByDcr, type ClientProfile } from "./flow.ts";

// claude.ai (and Claude Desktop, which connects through it) and Claude Code,
// as docs/field-failures.md "Clients as they behave" describes them.

const gate = useGatehouse();

const claudeCallback = "https://claude.ai/api/mcp/auth_callback";
const grantTypes = ["authorization_code", "refresh_token"];

/** claude.ai's metadata document (CIMD); a claude.com callback variant exists beside claude.ai's. */
const claudeAiDocument = {
  client_id: "https://claude.ai/oauth/mcp-oauth-client-metadata",
  client_name: "Claude",
  redirect_uris: [claudeCallback, "https://claude.com/api/mcp/auth_callback"],
  grant_types: grantTypes,
  response_types: ["code"],
  token_endpoint_auth_method: "none",
};

/** Claude Code's metadata document: loopback redirects without a port, used with one (RFC 8252 §7.3). */
const claudeCodeDocument = {
  client_id: "https://claude.ai/oauth/claude-code-client-metadata",
  client_name: "Claude Code",
  redirect_uris: ["http://localhost/callback", "http://127.0.0.1/callback"],
  grant_types: grantTypes,
  response_types: ["code"],
  token_endpoint_auth_method: "none",
};

/** claude.ai: sends `resource` and `prompt=consent`, asks for the scope the 401 named. */
const claudeAi = {
  redirectUri: claudeCallback,
  sendsResource: true,
  authorizeParams: { prompt: "consent" },
  scope: (challenged: string) => challenged,
} satisfies Partial<ClientProfile>;

describe("claude.ai's metadata document through the real fetch", () => {
  test("served from loopback (which a loopback Gatehouse may fetch), it resolves to Claude with its callbacks, named on the consent page", async () => {
    const docs = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => Response.json({ ...claudeAiDocument, client_id: req.url }),
    });
    try {
      const clientId = `http://127.0.0.1:${docs.port}/oauth/mcp-oauth-client-metadata`;
      const { url } = await authorizeUrl(gate.app.url, {
        client_id: clientId,
        redirect_uri: claudeCallback,
        scope: "mcp:read mcp:write",
        resource: `${gate.app.url}/mcp`,
        prompt: "consent",
      });
      const page = await gate.browser.get(url.pathname + url.search);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("claude.ai");
      expect(await findClientById(gate.app.db, clientId)).toMatchObject({
        kind: "cimd",
        name: "Claude",
        redirectUris: claudeAiDocument.redirect_uris,
      });
    } finally {
      docs.stop(true);
    }
  });

  // docs/field-failures.md "Clients as they behave": claude.ai's hosted document has been
  // unreachable for a while, so a known client must not be dropped on a 404. Issue 10, point 9: the grant it holds keeps working on the last good copy
  // (7 days); a new authorization re-checks the document.
  test("when its document answers 404, claude.ai's connection still refreshes; a new authorization is refused", async () => {
    let status = 200;
    const docs = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) =>
        status === 200 ? Response.json({ ...claudeAiDocument, client_id: req.url }) : new Response("gone", { status }),
    });
    try {
      const clientId = `http://127.0.0.1:${docs.port}/oauth/mcp-oauth-client-metadata`;
      const params = {
        client_id: clientId,
        redirect_uri: claudeCallback,
        scope: "mcp:read mcp:write",
        resource: `${gate.app.url}/mcp`,
      };
      const first = await authorizeUrl(gate.app.url, params);
      const code = (await approveConsent(gate.browser, first.url)).searchParams.get("code")!;
      const tokens = await exchange(gate.app.url, clientId, code, claudeCallback, first.verifier);
      expect(tokens.res.status).toBe(200);
      await upsertClient(gate.app.db, {
        ...(await findClientById(gate.app.db, clientId))!,
        metadataExpiresAt: nowSeconds() - 1,
      });
      status = 404;
      const refreshed = await tokenRequest(gate.app.url, {
        grant_type: "refresh_token",
        client_id: clientId,
        refresh_token: String(tokens.json.refresh_token),
      });
      expect(refreshed.res.status).toBe(200);
      expect(refreshed.json.access_token).toStartWith("gate_at_");
      const again = await authorizeUrl(gate.app.url, params);
      expect((await gate.browser.get(again.url.pathname + again.url.search)).status).toBe(400);
    } finally {
      docs.stop(true);
    }
  });
});

describeClientFlow(gate, {
  ...claudeAi,
  title: "claude.ai with its metadata document (CIMD)",
  name: "Claude",
  register: (g, discovery) => knownDocument(g, discovery, claudeAiDocument),
});

const claudeAiByDcr: ClientProfile = {
  ...claudeAi,
  title: "claude.ai by DCR as Claude, client_secret_post",
  name: "Claude",
  register: (g) =>
    registerByDcr(g, {
      client_name: "Claude",
      redirect_uris: [claudeCallback],
      grant_types: grantTypes,
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    }),
};

describeClientFlow(gate, claudeAiByDcr, (flow) => {
  test("its registration got a gate_cs_ secret, sent in the form body at the token endpoint", () => {
    expect(flow.auth).toMatchObject({ method: "client_secret_post", secret: expect.stringMatching(/^gate_cs_/) });
  });
});

describeClientFlow(gate, {
  ...claudeAiByDcr,
  title: "claude.ai by DCR asking scope=claudeai (unknown words are ignored)",
  scope: () => "claudeai",
});

describeClientFlow(gate, {
  ...claudeAiByDcr,
  title: "claude.ai by DCR adding offline_access to the challenged scope",
  scope: (challenged) => `${challenged} offline_access`,
});

describeClientFlow(gate, {
  title: "Claude Code with its metadata document (CIMD), a loopback port its document does not list, no resource",
  name: "Claude Code",
  register: (g, discovery) => knownDocument(g, discovery, claudeCodeDocument),
  // The port its callback listener got at run time; the document lists none.
  redirectUri: "http://localhost:52163/callback",
  sendsResource: false,
  scope: (challenged) => challenged,
});

const claudeCodeRedirect = "http://localhost:3118/callback";

describeClientFlow(
  gate,
  {
    title: "Claude Code by DCR with a localhost callback, client_secret_basic, no resource",
    name: "Claude Code",
    register: (g) =>
      registerByDcr(g, {
        client_name: "Claude Code",
        redirect_uris: [claudeCodeRedirect],
        grant_types: grantTypes,
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      }),
    redirectUri: claudeCodeRedirect,
    sendsResource: false,
    scope: (challenged) => challenged,
  },
  (flow) => {
    test("DCR returned a secret, so it authenticates with HTTP Basic; the client holds its loopback redirect", async () => {
      expect(flow.auth).toMatchObject({ method: "client_secret_basic", secret: expect.stringMatching(/^gate_cs_/) });
      expect((await findClientById(gate.app.db, flow.auth.clientId))!.redirectUris).toEqual([claudeCodeRedirect]);
    });
  },
);
