import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { InsufficientScopeError } from "@modelcontextprotocol/client";
import { rotateApiKey } from "../../src/keys/api-keys.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connected, makeClient, makeCode, exchangeCode, nowSeconds } from "../oauth/token-fixture.ts";
import { connectClient, keyFor, prmPath, rpc, structured, userWithKey } from "./fixture.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const builtins = ["gatehouse__whoami", "gatehouse__list_connections", "gatehouse__revoke_connection"];
const listTools = { jsonrpc: "2.0", id: 1, method: "tools/list" };

describe("the SDK v2 client with an API key", () => {
  test("connects on 2026-07-28", async () => {
    const { token } = await userWithKey(app);
    const client = await connectClient(app, token);
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
  });

  test("tools/list shows the built-in tools with their annotations", async () => {
    const { token } = await userWithKey(app);
    const { tools } = await (await connectClient(app, token)).listTools();
    expect(tools.map((t) => t.name)).toEqual(builtins);
    const hints = Object.fromEntries(tools.map((t) => [t.name, t.annotations?.readOnlyHint]));
    expect(hints).toEqual({
      gatehouse__whoami: true,
      gatehouse__list_connections: true,
      gatehouse__revoke_connection: false,
    });
  });

  test("whoami names the user, the key, its access and scope", async () => {
    const { user, token } = await userWithKey(app);
    const result = await (await connectClient(app, token)).callTool({ name: "gatehouse__whoami", arguments: {} });
    expect(result.isError).toBeFalsy();
    expect(structured(result)).toEqual({
      email: user.email,
      via: "api_key",
      name: "Laptop",
      access: "full",
      scope: "mcp:read mcp:write",
      write_tools: "all",
      argument_limits: [],
      expires_at: null,
    });
  });

  test("list_connections shows the caller's keys and connections, never a secret", async () => {
    const { user, apiKey, token } = await userWithKey(app);
    const { client: oauthClient } = await makeClient(app, { name: "Claude" });
    const { authorization } = await makeCode(app, { userId: user.id, clientId: oauthClient.id });
    await userWithKey(app); // someone else's key stays out
    const result = await (await connectClient(app, token)).callTool({
      name: "gatehouse__list_connections",
      arguments: {},
    });
    const { api_keys, connections } = structured(result);
    expect(api_keys.map((k: { id: string }) => k.id)).toEqual([apiKey.id]);
    expect(api_keys[0].current).toBe(true);
    expect(connections.map((c: { id: string; name: string }) => [c.id, c.name])).toEqual([
      [authorization.id, "Claude (MCP connector)"],
    ]);
    const text = JSON.stringify(result);
    expect(text).not.toContain(token.split("_").at(-1)!);
    expect(text).not.toContain(apiKey.secretHash);
  });

  test("a read-only key does not see revoke_connection", async () => {
    const { token } = await userWithKey(app, "read");
    const { tools } = await (await connectClient(app, token)).listTools();
    expect(tools.map((t) => t.name)).toEqual(["gatehouse__whoami", "gatehouse__list_connections"]);
  });

  test("a read-only key calling revoke_connection gets 403 insufficient_scope (the client sees InsufficientScopeError)", async () => {
    const { token } = await userWithKey(app, "read");
    const client = await connectClient(app, token);
    const call = client.callTool({ name: "gatehouse__revoke_connection", arguments: { kind: "api_key", id: "x" } });
    await expect(call).rejects.toBeInstanceOf(InsufficientScopeError);
  });

  test("the 403 carries the exact step-up challenge", async () => {
    const { token } = await userWithKey(app, "read");
    const res = await rpc(app, token, {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "gatehouse__revoke_connection", arguments: { kind: "api_key", id: "x" } },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer error="insufficient_scope", scope="mcp:read mcp:write", resource_metadata="${app.url}${prmPath}", error_description="The tool gatehouse__revoke_connection needs scope mcp:read mcp:write."`,
    );
  });

  test("a full key revokes its user's connection, and that connection's token is 401 on its next request", async () => {
    const { user, token } = await userWithKey(app);
    const { client: oauthClient } = await makeClient(app);
    const { authorization, code } = await makeCode(app, { userId: user.id, clientId: oauthClient.id });
    const tokens = await exchangeCode(app, oauthClient.id, code);
    expect((await rpc(app, tokens.access_token, listTools)).status).toBe(200);
    const result = await (await connectClient(app, token)).callTool({
      name: "gatehouse__revoke_connection",
      arguments: { kind: "connection", id: authorization.id },
    });
    expect(structured(result)).toEqual({ revoked: true, kind: "connection", id: authorization.id });
    expect((await rpc(app, tokens.access_token, listTools)).status).toBe(401);
  });

  test("a full key cannot revoke another user's connection: an isError result, and it stays live", async () => {
    const { token } = await userWithKey(app);
    const other = await connected(app);
    const result = await (await connectClient(app, token)).callTool({
      name: "gatehouse__revoke_connection",
      arguments: { kind: "connection", id: other.authorization.id },
    });
    expect(result.isError).toBe(true);
    expect((await rpc(app, other.tokens.access_token, listTools)).status).toBe(200);
  });

  test("a key that revokes itself is 401 on the very next request", async () => {
    const { apiKey, token } = await userWithKey(app);
    const client = await connectClient(app, token);
    const result = await client.callTool({
      name: "gatehouse__revoke_connection",
      arguments: { kind: "api_key", id: apiKey.id },
    });
    expect(result.isError).toBeFalsy();
    expect((await rpc(app, token, listTools)).status).toBe(401);
  });

  test("a rotated key is 401 on the very next request, and its successor works", async () => {
    const { user, apiKey, token } = await userWithKey(app);
    expect((await rpc(app, token, listTools)).status).toBe(200);
    const rotated = (await rotateApiKey(app.db, { id: apiKey.id, ownerId: user.id, now: nowSeconds() }))!;
    expect((await rpc(app, token, listTools)).status).toBe(401);
    expect((await rpc(app, rotated.token, listTools)).status).toBe(200);
  });

  test("a second key of the same user is listed but not current", async () => {
    const { user, token } = await userWithKey(app);
    const second = await keyFor(app, user.id, "read", "Phone");
    const { api_keys } = structured(
      await (await connectClient(app, token)).callTool({ name: "gatehouse__list_connections", arguments: {} }),
    );
    const phone = api_keys.find((k: { id: string }) => k.id === second.apiKey.id);
    expect(phone).toMatchObject({ name: "Phone", access: "read", current: false });
  });
});
