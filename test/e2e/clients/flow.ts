import { describe, expect, test } from "bun:test";
import { cimdDefaultTtlSeconds, clientFromDocument } from "../../../src/oauth/cimd.ts";
import { findClientById, upsertClient } from "../../../src/oauth/clients-store.ts";
import { findToken } from "../../support/rows.ts";
import { accessTokenPrefix, refreshTokenPrefix } from "../../../src/oauth/tokens.ts";
import { parseCredential } from "../../../src/security/tokens.ts";
import { structured } from "../../mcp/fixture.ts";
import { nowSeconds } from "../../oauth/token-fixture.ts";
import { authorizeUrl, introspect, register } from "../field-failures-fixture.ts";
import {
  approveConsent,
  discover,
  doubleRefresh,
  mcpWith,
  tokenCall,
  type ClientAuth,
  type Discovery,
  type Gate,
} from "./fixture.ts";

// One client's whole OAuth life against Gatehouse, as a table row drives it:
// discovery from the /mcp 401, registration (DCR or a metadata document),
// authorization with PKCE and consent, the code exchange, MCP calls with the
// token, two refreshes with the same refresh token at once, and a call with
// what they returned. Each step is its own test, in order, sharing `FlowState`.

type Json = Record<string, any>;

export interface ClientProfile {
  /** The describe block's title: the client and how it registers. */
  title: string;
  /** The client's name as Gatehouse stores it and whoami reports it. */
  name: string;
  /** Registers by DCR or makes its metadata document known; the credentials it then uses. */
  register(gate: Gate, discovery: Discovery): Promise<ClientAuth>;
  /** The redirect_uri it sends at authorization and the code exchange. */
  redirectUri: string;
  /** The scope it asks for, given the 401's `scope`; undefined leaves the parameter out. */
  scope(challenged: string): string | undefined;
  /** Sends `resource=<public>/mcp` (RFC 8707) at authorization, code exchange and refresh. */
  sendsResource: boolean;
  /** Other authorization request parameters it sends (claude.ai: prompt=consent). */
  authorizeParams?: Record<string, string>;
}

export interface FlowState {
  discovery: Discovery;
  auth: ClientAuth;
  callback: URL;
  /** The PKCE verifier of the authorization request. */
  verifier: string;
  tokens: Json;
  refreshed: Json;
}

const fullScope = "mcp:read mcp:write";
const readTools = ["gatehouse__whoami", "gatehouse__list_connections"];
const writeTools = ["gatehouse__revoke_connection"];
const idOf = (prefix: string, token: string) => parseCredential(prefix, token)!.id;

/** A DCR registration (RFC 7591) that must succeed; the client's credentials for `method`. */
export async function registerByDcr(gate: Gate, body: Json): Promise<ClientAuth> {
  const { res, json } = (await register(gate.app.url, body)) as { res: Response; json: Json };
  if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${JSON.stringify(json)}`);
  return {
    method: json.token_endpoint_auth_method,
    clientId: String(json.client_id),
    ...(json.client_secret && { secret: String(json.client_secret) }),
  };
}

/**
 * A metadata-document client (CIMD) whose document Gatehouse holds as a fetch
 * a moment ago left it: parsed by Gatehouse's own document rules and cached.
 * The document's real host is out of reach here (no internet), and the fetch
 * path only reaches loopback over http; test/oauth/cimd.test.ts covers it.
 * Such clients use CIMD only when the server advertises it and `none`.
 */
export async function knownDocument(gate: Gate, discovery: Discovery, document: Json): Promise<ClientAuth> {
  const { server } = discovery;
  if (
    server.client_id_metadata_document_supported !== true ||
    !server.token_endpoint_auth_methods_supported.includes("none")
  ) {
    throw new Error("the server does not advertise CIMD with `none`, so the client would register by DCR");
  }
  await upsertClient(
    gate.app.db,
    clientFromDocument(document.client_id, document, nowSeconds(), cimdDefaultTtlSeconds),
  );
  return { method: "none", clientId: document.client_id };
}

export function describeClientFlow(gate: Gate, profile: ClientProfile, more?: (flow: FlowState) => void): void {
  describe(profile.title, () => {
    const flow = {} as FlowState;
    const resource = (): Record<string, string> => (profile.sendsResource ? { resource: `${gate.app.url}/mcp` } : {});

    test("finds Gatehouse from the /mcp 401: the resource metadata it names, then the authorization server listed there", async () => {
      const url = gate.app.url;
      flow.discovery = await discover(gate.app);
      const { challenge, resource: prm, server } = flow.discovery;
      expect(challenge).toEqual({
        resource_metadata: `${url}/.well-known/oauth-protected-resource/mcp`,
        scope: fullScope,
      });
      expect(prm).toMatchObject({ resource: `${url}/mcp`, authorization_servers: [url] });
      expect(server).toMatchObject({
        issuer: url,
        authorization_endpoint: `${url}/oauth/authorize`,
        token_endpoint: `${url}/oauth/token`,
        registration_endpoint: `${url}/oauth/register`,
        code_challenge_methods_supported: ["S256"],
      });
    });

    test("registers; Gatehouse stores the client with its name and authentication method", async () => {
      flow.auth = await profile.register(gate, flow.discovery);
      expect(await findClientById(gate.app.db, flow.auth.clientId)).toMatchObject({
        name: profile.name,
        tokenEndpointAuthMethod: flow.auth.method,
      });
    });

    test(`authorizes with PKCE S256; consent sends the code to ${profile.redirectUri} with state and iss`, async () => {
      const scope = profile.scope(flow.discovery.challenge.scope!);
      const params = {
        client_id: flow.auth.clientId,
        redirect_uri: profile.redirectUri,
        scope,
        ...resource(),
        ...profile.authorizeParams,
      };
      const { url, verifier } = await authorizeUrl(flow.discovery.server.authorization_endpoint, params);
      flow.verifier = verifier;
      flow.callback = await approveConsent(gate.browser, url);
      expect(`${flow.callback.protocol}//${flow.callback.host}${flow.callback.pathname}`).toBe(profile.redirectUri);
      expect(flow.callback.searchParams.get("code")).toStartWith("gate_code_");
      expect({ state: flow.callback.searchParams.get("state"), iss: flow.callback.searchParams.get("iss") }).toEqual({
        state: "st-1",
        iss: gate.app.url,
      });
    });

    test("exchanges the code with its verifier: a Bearer pair for mcp:read mcp:write, bound to <public>/mcp", async () => {
      const q = flow.callback.searchParams;
      const exchange = {
        grant_type: "authorization_code",
        code: q.get("code")!,
        redirect_uri: profile.redirectUri,
        code_verifier: flow.verifier,
        ...resource(),
      };
      const { res, json } = await tokenCall(gate.app, flow.auth, exchange);
      expect(res.status).toBe(200);
      expect(json).toMatchObject({ token_type: "Bearer", scope: fullScope });
      expect(json.access_token).toStartWith(accessTokenPrefix);
      expect(json.refresh_token).toStartWith(refreshTokenPrefix);
      flow.tokens = json;
      const seen = await introspect(gate.app.url, gate.adminKey, json.access_token);
      expect(seen).toMatchObject({
        active: true,
        client_id: flow.auth.clientId,
        aud: `${gate.app.url}/mcp`,
        scope: fullScope,
      });
    });

    test("lists the tools and calls gatehouse__whoami on /mcp with the access token", async () => {
      const client = await mcpWith(gate.app, flow.tokens.access_token);
      try {
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining([...readTools, ...writeTools]));
        const me = structured(await client.callTool({ name: "gatehouse__whoami", arguments: {} }));
        expect(me).toMatchObject({
          email: gate.email,
          via: "connection",
          name: profile.name,
          access: "full",
          scope: fullScope,
        });
      } finally {
        await client.close();
      }
    });

    test("two refreshes with the same refresh token at once both get the same new pair", async () => {
      const [first, second] = await doubleRefresh(gate.app, flow.auth, flow.tokens.refresh_token, resource());
      expect([first.res.status, second.res.status]).toEqual([200, 200]);
      expect(second.json.access_token).toBe(first.json.access_token);
      expect(second.json.refresh_token).toBe(first.json.refresh_token);
      expect(first.json.refresh_token).not.toBe(flow.tokens.refresh_token);
      expect(first.json.scope).toBe(fullScope);
      flow.refreshed = first.json;
    });

    test("the refreshed access token calls /mcp for the same connection; the old refresh token is marked rotated", async () => {
      const client = await mcpWith(gate.app, flow.refreshed.access_token);
      try {
        const me = structured(await client.callTool({ name: "gatehouse__whoami", arguments: {} }));
        expect(me).toMatchObject({ email: gate.email, via: "connection", name: profile.name });
      } finally {
        await client.close();
      }
      const old = (await findToken(gate.app.db, idOf(refreshTokenPrefix, flow.tokens.refresh_token)))!;
      const next = (await findToken(gate.app.db, idOf(refreshTokenPrefix, flow.refreshed.refresh_token)))!;
      expect(old.rotatedAt).not.toBeNull();
      expect(old.nextRefreshId).toBe(next.id);
      expect(next.grantId).toBe(old.grantId);
    });

    more?.(flow);
  });
}
