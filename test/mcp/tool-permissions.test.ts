import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { permissionDeniedCode } from "../../src/mcp/permission-denied.ts";
import { startHttpUpstream, type HttpUpstream } from "../gateway/http-upstream.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import {
  exchangeCode,
  makeClient,
  makeCode,
  makeUser,
  refreshRequest,
  type TokenBody,
} from "../oauth/token-fixture.ts";
import { waitFor } from "../support/wait-for.ts";
import { connectClient, keyFor, rpc, rpcMessages, structured } from "./fixture.ts";

// Per-tool write authorizations on /mcp, with the real SDK client over real HTTP and
// a real upstream (a read tool web__lookup, a write tool web__store) beside
// the built-in write tool gatehouse__revoke_connection.

const store = "web__store";
const revoke = "gatehouse__revoke_connection";

let upstream: HttpUpstream;
let app: TestApp;
beforeAll(async () => {
  upstream = startHttpUpstream();
  const toml = `[[upstream]]\nname = "web"\nurl = "${upstream.url}"\n`;
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, {}) });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
});
afterAll(async () => {
  await app.close();
  upstream.stop();
});

const callBody = (name: string, id: string | number, args: Record<string, unknown> = { text: "x" }) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

/** A user with a Full API key limited to `tools` (null: every write tool). */
async function keyWith(tools: string[] | null) {
  const user = await makeUser(app);
  const { apiKey, token } = await keyFor(app, user.id, "full");
  const { apiKeys } = app.db.tables;
  if (tools !== null) await app.db.update(apiKeys).set({ tools }).where(eq(apiKeys.id, apiKey.id));
  return { user, apiKey, token };
}

/** A connection granted `tools`, with a token pair from the real token endpoint. */
async function connectionWith(tools: string[] | null, name = "Claude") {
  const user = await makeUser(app);
  const { client } = await makeClient(app, { name });
  const { authorization, code } = await makeCode(app, { userId: user.id, clientId: client.id, tools });
  const tokens: TokenBody = await exchangeCode(app, client.id, code);
  return { user, client, authorization, tokens };
}

const listedNames = async (token: string) =>
  (await (await connectClient(app, token)).listTools()).tools.map((t) => t.name);

describe("tools/list shows only what the grant allows", () => {
  test("a key limited to web__store lists the read tools and web__store, not revoke_connection", async () => {
    const names = await listedNames((await keyWith([store])).token);
    expect(names).toContain("web__lookup");
    expect(names).toContain("gatehouse__whoami");
    expect(names).toContain(store);
    expect(names).not.toContain(revoke);
  });

  test("a connection granted revoke_connection lists it, not web__store", async () => {
    const names = await listedNames((await connectionWith([revoke])).tokens.access_token);
    expect(names).toContain(revoke);
    expect(names).not.toContain(store);
  });

  test("a connection granted no write tool lists only read tools", async () => {
    const { tools } = await (await connectClient(app, (await connectionWith([])).tokens.access_token)).listTools();
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
  });
});

describe("permission_denied", () => {
  test("a key calling a write tool outside its grant: HTTP 200, JSON-RPC error -32003 with the exact data", async () => {
    const { user, token } = await keyWith([revoke]);
    const before = upstream.toolCalls;
    const res = await rpc(app, token, callBody(store, "call-7"));
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id")!;
    expect(requestId.length).toBeGreaterThan(0);
    const [body] = await rpcMessages(res);
    expect(body).toEqual({
      jsonrpc: "2.0",
      id: "call-7",
      error: {
        code: permissionDeniedCode,
        message: expect.stringContaining(store),
        data: {
          error: "permission_denied",
          tool: store,
          missing: `grant:${store}`,
          hint: `Create an API key with Full access and ${store} ticked at ${app.url}/keys, or with: gatehouse key create --user ${user.email} --name NAME --tools ${store}`,
          request_id: requestId,
        },
      },
    });
    expect(upstream.toolCalls).toBe(before);
  });

  test("the code is -32003 and the id is echoed as a number too", async () => {
    const { token } = await keyWith([]);
    const [body] = await rpcMessages(await rpc(app, token, callBody(revoke, 42, { kind: "api_key", id: "x" })));
    expect([body!.id, body!.error.code]).toEqual([42, -32003]);
  });

  test("a caller-sent X-Request-Id comes back in the header and in data.request_id", async () => {
    const { token } = await keyWith([revoke]);
    const res = await rpc(app, token, callBody(store, 1), { "x-request-id": "trace-abc.123" });
    const [body] = await rpcMessages(res);
    expect([res.headers.get("x-request-id"), body!.error.data.request_id]).toEqual(["trace-abc.123", "trace-abc.123"]);
  });

  test("the answer carries the rate limit headers and no-store", async () => {
    const { token } = await keyWith([revoke]);
    const res = await rpc(app, token, callBody(store, 1));
    expect(res.headers.get("ratelimit-policy")).toContain("q=");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("a connection calling a tool it was not granted: data names the tool and the consent page hint", async () => {
    const { tokens } = await connectionWith([store], "Cursor");
    const res = await rpc(app, tokens.access_token, callBody(revoke, 3, { kind: "api_key", id: "x" }));
    const [body] = await rpcMessages(res);
    expect(res.status).toBe(200);
    expect(body!.id).toBe(3);
    expect(body!.error.code).toBe(permissionDeniedCode);
    expect(body!.error.data).toEqual({
      error: "permission_denied",
      tool: revoke,
      missing: `grant:${revoke}`,
      hint: `Connect Cursor to Gatehouse again, choose Full access on the consent page and tick ${revoke}.`,
      request_id: res.headers.get("x-request-id"),
    });
  });

  test("the SDK client sees the refusal as a protocol error with code and data", async () => {
    const { tokens } = await connectionWith([store]);
    const client = await connectClient(app, tokens.access_token);
    const error = (await client
      .callTool({ name: revoke, arguments: { kind: "api_key", id: "x" } })
      .catch((e: unknown) => e)) as {
      code?: number;
      data?: Record<string, unknown>;
    };
    expect(error.code).toBe(permissionDeniedCode);
    expect(error.data).toMatchObject({ error: "permission_denied", tool: revoke, missing: `grant:${revoke}` });
  });

  test("a granted write tool runs on the same connection", async () => {
    const { tokens } = await connectionWith([store]);
    const result = await (await connectClient(app, tokens.access_token)).callTool({
      name: store,
      arguments: { text: "v" },
    });
    expect(result.isError).toBeFalsy();
    expect((result.content as { text: string }[])[0]!.text).toBe("stored v");
  });

  test("a 2025-era batch with a denied call is answered whole before dispatch, and runs nothing", async () => {
    const { token } = await keyWith([revoke]);
    const before = upstream.toolCalls;
    const batch = [
      callBody("web__lookup", 1),
      callBody(store, 2),
      { jsonrpc: "2.0", method: "notifications/initialized" },
    ];
    const res = await rpc(app, token, batch, { "mcp-protocol-version": "2025-03-26" });
    const messages = (await res.json()) as Record<string, any>[];
    expect(res.status).toBe(200);
    expect(messages.map((m) => [m.id, m.error.code, m.error.data.tool])).toEqual([
      [1, permissionDeniedCode, store],
      [2, permissionDeniedCode, store],
    ]);
    expect(messages[0]!.error.message).toStartWith("Not run:");
    expect(upstream.toolCalls).toBe(before);
  });

  test("a read-only key still gets 403 insufficient_scope, not permission_denied", async () => {
    const user = await makeUser(app);
    const { token } = await keyFor(app, user.id, "read");
    const res = await rpc(app, token, callBody(store, 1));
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });
});

describe("grants that allow", () => {
  test("a key with every write tool (tools null) may call each write tool", async () => {
    const { user, token } = await keyWith(null);
    const spare = await keyFor(app, user.id, "read", "Spare");
    const client = await connectClient(app, token);
    const stored = await client.callTool({ name: store, arguments: { text: "a" } });
    const revoked = await client.callTool({ name: revoke, arguments: { kind: "api_key", id: spare.apiKey.id } });
    expect([stored.isError ?? false, revoked.isError ?? false]).toEqual([false, false]);
    expect(structured(revoked)).toEqual({ revoked: true, kind: "api_key", id: spare.apiKey.id });
  });

  test("a refreshed token keeps its grant's tools", async () => {
    const { client, tokens } = await connectionWith([store]);
    const res = await refreshRequest(app, client.id, tokens.refresh_token);
    const fresh = (await res.json()) as TokenBody;
    const names = await listedNames(fresh.access_token);
    expect(names).toContain(store);
    expect(names).not.toContain(revoke);
    const [denied] = await rpcMessages(
      await rpc(app, fresh.access_token, callBody(revoke, 9, { kind: "api_key", id: "x" })),
    );
    expect(denied!.error.data.error).toBe("permission_denied");
  });
});

describe("whoami and list_connections report the granted write tools", () => {
  test("whoami of a limited connection lists its tools", async () => {
    const { tokens } = await connectionWith([store]);
    const me = structured(
      await (await connectClient(app, tokens.access_token)).callTool({ name: "gatehouse__whoami", arguments: {} }),
    );
    expect(me.write_tools).toEqual([store]);
  });

  test("whoami of a key with every write tool says all; of a read-only key, none", async () => {
    const user = await makeUser(app);
    const full = await keyFor(app, user.id, "full");
    const read = await keyFor(app, user.id, "read", "Phone");
    const who = async (token: string) =>
      structured(await (await connectClient(app, token)).callTool({ name: "gatehouse__whoami", arguments: {} }))
        .write_tools;
    expect([await who(full.token), await who(read.token)]).toEqual(["all", []]);
  });

  test("list_connections gives each key and connection its write tools", async () => {
    const { user, apiKey, token } = await keyWith([store]);
    const { client } = await makeClient(app, { name: "Claude" });
    const { authorization } = await makeCode(app, { userId: user.id, clientId: client.id, tools: [revoke] });
    const { api_keys, connections } = structured(
      await (await connectClient(app, token)).callTool({ name: "gatehouse__list_connections", arguments: {} }),
    );
    expect(api_keys.map((k: Record<string, unknown>) => [k.id, k.write_tools])).toEqual([[apiKey.id, [store]]]);
    expect(connections.map((c: Record<string, unknown>) => [c.id, c.write_tools])).toEqual([
      [authorization.id, [revoke]],
    ]);
    const { oauthGrants } = app.db.tables;
    expect(
      first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, authorization.id)).limit(1))!.tools,
    ).toEqual([revoke]);
  });
});
