import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createServiceAccount } from "../../src/accounts/service-accounts.ts";
import { first } from "../../src/db/transaction.ts";
import { InvalidTarget } from "../../src/oauth/errors.ts";
import { mcpResourceUrl, requestedResource } from "../../src/oauth/resource.ts";
import { randomString } from "../../src/security/tokens.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { rpc } from "../mcp/fixture.ts";
import {
  addClient,
  addUser,
  authorizePath,
  browserOf,
  locationOf,
  openConsent,
  redirectUri as loopbackRedirect,
} from "./authorize-fixture.ts";
import { answer, deviceRow, poll, startDeviceFlow } from "./device-fixture.ts";
import {
  basicAuth,
  connected,
  makeClient,
  makeCode,
  makeUser,
  nowSeconds,
  postForm,
  redirectUri,
  refreshRequest,
  verifier,
  type TokenBody,
} from "./token-fixture.ts";

// RFC 8707 resource indicators: the spellings of <public URL>/mcp that
// clients send are accepted at every endpoint that takes a resource and
// stored canonical; anything else is invalid_target.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());

const canonical = () => mcpResourceUrl(app.url);
/** `{url}` stands for the public URL, known once the app listens. */
const spell = (resource: string) => resource.replace("{url}", app.url);
/** The MCP resource as clients spell it: exact, with a trailing slash, the bare origin with and without its slash. */
const variants = ["{url}/mcp", "{url}/mcp/", "{url}", "{url}/"];
/** Not this resource: another host, another port, another path, below /mcp, a query, a fragment, another case. */
const refusals = [
  "https://other.example/mcp",
  "http://127.0.0.1:1/mcp",
  "{url}/other",
  "{url}/mcp/x",
  "{url}/mcp?x=1",
  "{url}/?x=1",
  "{url}/mcp#top",
  "{url}#top",
  "{url}/MCP",
];

const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;
const listTools = (token: string) => rpc(app, token, { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} });
const grantRow = async (id: string) => {
  const { oauthGrants } = app.db.tables;
  return first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, id)).limit(1))!;
};

describe("requestedResource", () => {
  test("an absent resource is the MCP resource", () => {
    expect(requestedResource("https://gh.example", undefined)).toBe("https://gh.example/mcp");
  });

  test.each(["https://gh.example/mcp", "https://gh.example/mcp/", "https://gh.example", "https://gh.example/"])(
    "%s is https://gh.example/mcp",
    (resource) => {
      expect(requestedResource("https://gh.example", resource)).toBe("https://gh.example/mcp");
    },
  );

  test.each([
    "https://gh.example/mcp//",
    "https://gh.example//",
    "http://gh.example/mcp",
    "https://gh.example:8443/mcp",
    "https://gh.example/mcp?",
    "https://gh.example/mcp#",
    " https://gh.example/mcp",
    "mcp",
    "",
  ])("%p is invalid_target", (resource) => {
    expect(() => requestedResource("https://gh.example", resource)).toThrow(InvalidTarget);
  });
});

describe("the authorization endpoint, then the code exchange, then /mcp", () => {
  for (const spelled of variants) {
    test(`resource=${spelled}: consent, exchange with the same resource, canonical grant, /mcp answers`, async () => {
      const sent = spell(spelled);
      const client = await addClient(app);
      const b = await browserOf(app, await addUser(app));
      const page = await openConsent(b, authorizePath(client.id, { resource: sent }));
      const { oauthGrants, oauthPendingRequests } = app.db.tables;
      const pending = first(
        await app.db.select().from(oauthPendingRequests).where(eq(oauthPendingRequests.id, page.request)).limit(1),
      )!;
      expect(pending.resource).toBe(canonical());
      const decided = await b.post("/oauth/authorize", {
        csrf: page.csrf,
        request: page.request,
        decision: "allow",
        access: "read",
      });
      const { code } = locationOf(decided).query;
      expect(code).toBeString();
      const res = await postForm(app, "/oauth/token", {
        grant_type: "authorization_code",
        client_id: client.id,
        code: code!,
        redirect_uri: loopbackRedirect,
        code_verifier: verifier,
        resource: sent,
      });
      expect(res.status).toBe(200);
      const tokens = (await res.json()) as TokenBody;
      const grants = await app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, client.id));
      expect(grants.map((g) => g.resource)).toEqual([canonical()]);
      expect((await listTools(tokens.access_token)).status).toBe(200);
    });
  }

  test.each(refusals)("resource=%s redirects with invalid_target", async (spelled) => {
    const resource = spell(spelled);
    const client = await addClient(app);
    const res = await (await browserOf(app, await addUser(app))).get(authorizePath(client.id, { resource }));
    expect(res.status).toBe(302);
    expect(locationOf(res).query.error).toBe("invalid_target");
  });
});

describe("the code exchange", () => {
  async function exchange(resource: string) {
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { code } = await makeCode(app, { userId: user.id, clientId: client.id });
    return postForm(app, "/oauth/token", {
      grant_type: "authorization_code",
      client_id: client.id,
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      resource,
    });
  }

  test.each(variants)("resource=%s is accepted", async (spelled) => {
    const resource = spell(spelled);
    expect((await exchange(resource)).status).toBe(200);
  });

  test.each(refusals)("resource=%s is invalid_target", async (spelled) => {
    const resource = spell(spelled);
    const res = await exchange(resource);
    expect([res.status, await errorOf(res)]).toEqual([400, "invalid_target"]);
  });
});

describe("the refresh", () => {
  test.each(variants)("resource=%s is accepted and the new token works on /mcp", async (spelled) => {
    const resource = spell(spelled);
    const { client, tokens } = await connected(app);
    const res = await refreshRequest(app, client.id, tokens.refresh_token, { resource });
    expect(res.status).toBe(200);
    expect((await listTools(((await res.json()) as TokenBody).access_token)).status).toBe(200);
  });

  test.each(refusals)("resource=%s is invalid_target and rotates nothing", async (spelled) => {
    const resource = spell(spelled);
    const { client, tokens } = await connected(app);
    const res = await refreshRequest(app, client.id, tokens.refresh_token, { resource });
    expect([res.status, await errorOf(res)]).toEqual([400, "invalid_target"]);
    expect((await refreshRequest(app, client.id, tokens.refresh_token)).status).toBe(200);
  });
});

describe("device authorization and the device code grant", () => {
  test.each(variants)("device_authorization with resource=%s stores the canonical resource", async (spelled) => {
    const resource = spell(spelled);
    const { client } = await makeClient(app);
    const started = await startDeviceFlow(app, client.id, { resource });
    expect((await deviceRow(app, started.device_code)).resource).toBe(canonical());
  });

  test.each(refusals)("device_authorization with resource=%s is invalid_target", async (spelled) => {
    const resource = spell(spelled);
    const { client } = await makeClient(app);
    const res = await postForm(app, "/oauth/device_authorization", { client_id: client.id, resource });
    expect([res.status, await errorOf(res)]).toEqual([400, "invalid_target"]);
  });

  test.each(variants)("the device code grant with resource=%s gives a token that works on /mcp", async (spelled) => {
    const resource = spell(spelled);
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const started = await startDeviceFlow(app, client.id, { resource });
    await answer(app, started.device_code, "allow", user.id);
    const res = await poll(app, client.id, started.device_code, { resource });
    expect(res.status).toBe(200);
    const row = await deviceRow(app, started.device_code);
    expect((await grantRow(row.grantId!)).resource).toBe(canonical());
    expect((await listTools(((await res.json()) as TokenBody).access_token)).status).toBe(200);
  });

  test.each(refusals)("the device code grant with resource=%s is invalid_target", async (spelled) => {
    const resource = spell(spelled);
    const { client } = await makeClient(app);
    const started = await startDeviceFlow(app, client.id);
    const res = await poll(app, client.id, started.device_code, { resource });
    expect([res.status, await errorOf(res)]).toEqual([400, "invalid_target"]);
  });
});

describe("client_credentials", () => {
  async function account() {
    const { account, clientSecret } = await createServiceAccount(app.db, {
      name: `ci-${randomString(4)}`,
      access: "read",
      tools: null,
      resource: canonical(),
      now: nowSeconds(),
    });
    return { authorization: basicAuth(account.client.id, clientSecret) };
  }

  test.each(variants)("resource=%s gives a token that works on /mcp", async (spelled) => {
    const resource = spell(spelled);
    const res = await postForm(app, "/oauth/token", { grant_type: "client_credentials", resource }, await account());
    expect(res.status).toBe(200);
    expect((await listTools(((await res.json()) as TokenBody).access_token)).status).toBe(200);
  });

  test.each(refusals)("resource=%s is invalid_target", async (spelled) => {
    const resource = spell(spelled);
    const res = await postForm(app, "/oauth/token", { grant_type: "client_credentials", resource }, await account());
    expect([res.status, await errorOf(res)]).toEqual([400, "invalid_target"]);
  });
});
