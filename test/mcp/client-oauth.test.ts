import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { InsufficientScopeError } from "@modelcontextprotocol/client";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connected, makeClient, makeCode, exchangeCode, makeUser } from "../oauth/token-fixture.ts";
import { connectClient, rpc, structured } from "./fixture.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const listTools = { jsonrpc: "2.0", id: 1, method: "tools/list" };

/** An access token from the real token endpoint for a client named `name`. */
async function oauthCaller(opts: { scope?: string; name?: string } = {}) {
  const user = await makeUser(app);
  const { client } = await makeClient(app, { name: opts.name ?? "Claude" });
  const { authorization, code } = await makeCode(app, { userId: user.id, clientId: client.id, scope: opts.scope });
  const tokens = await exchangeCode(app, client.id, code);
  return { user, authorization, tokens };
}

describe("the SDK v2 client with an OAuth access token", () => {
  test("whoami names the user, the client, the access and the token's expiry", async () => {
    const { user, tokens } = await oauthCaller();
    const result = await (await connectClient(app, tokens.access_token)).callTool({
      name: "gatehouse__whoami",
      arguments: {},
    });
    const me = structured(result);
    expect(me).toMatchObject({
      email: user.email,
      via: "connection",
      name: "Claude",
      access: "full",
      scope: "mcp:read mcp:write",
    });
    const expiresIn = (Date.parse(me.expires_at) - Date.now()) / 1000;
    expect(expiresIn).toBeGreaterThan(app.config.accessTokenTtlSeconds - 5);
    expect(expiresIn).toBeLessThanOrEqual(app.config.accessTokenTtlSeconds);
  });

  test("list_connections marks the caller's own connection as current", async () => {
    const { authorization, tokens } = await oauthCaller();
    const { connections } = structured(
      await (await connectClient(app, tokens.access_token)).callTool({
        name: "gatehouse__list_connections",
        arguments: {},
      }),
    );
    expect(connections).toHaveLength(1);
    expect(connections[0]).toMatchObject({ id: authorization.id, current: true, access: "full" });
  });

  test("a read-only token sees only the read tools", async () => {
    const { tokens } = await oauthCaller({ scope: "mcp:read" });
    const { tools } = await (await connectClient(app, tokens.access_token)).listTools();
    expect(tools.map((t) => t.name)).toEqual(["gatehouse__whoami", "gatehouse__list_connections"]);
  });

  test("a read-only token calling revoke_connection gets 403 insufficient_scope", async () => {
    const { authorization, tokens } = await oauthCaller({ scope: "mcp:read" });
    const client = await connectClient(app, tokens.access_token);
    const call = client.callTool({
      name: "gatehouse__revoke_connection",
      arguments: { kind: "connection", id: authorization.id },
    });
    await expect(call).rejects.toBeInstanceOf(InsufficientScopeError);
    expect((await rpc(app, tokens.access_token, listTools)).status).toBe(200);
  });

  test("a connection that revokes itself is 401 on the very next request", async () => {
    const { authorization, tokens } = await oauthCaller();
    const client = await connectClient(app, tokens.access_token);
    const result = await client.callTool({
      name: "gatehouse__revoke_connection",
      arguments: { kind: "connection", id: authorization.id },
    });
    expect(structured(result)).toEqual({ revoked: true, kind: "connection", id: authorization.id });
    const next = client.callTool({ name: "gatehouse__whoami", arguments: {} });
    await expect(next).rejects.toThrow();
    expect((await rpc(app, tokens.access_token, listTools)).status).toBe(401);
  });

  test("a connection can revoke its user's other connection, not another user's", async () => {
    const { user, tokens } = await oauthCaller();
    const { client: second } = await makeClient(app, { name: "Cursor" });
    const mine = await makeCode(app, { userId: user.id, clientId: second.id });
    const theirs = await connected(app);
    const client = await connectClient(app, tokens.access_token);
    const ok = await client.callTool({
      name: "gatehouse__revoke_connection",
      arguments: { kind: "connection", id: mine.authorization.id },
    });
    expect(ok.isError).toBeFalsy();
    const refused = await client.callTool({
      name: "gatehouse__revoke_connection",
      arguments: { kind: "connection", id: theirs.authorization.id },
    });
    expect(refused.isError).toBe(true);
  });
});
