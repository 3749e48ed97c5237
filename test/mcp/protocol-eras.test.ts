import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, mcpUrl, rawInitialize, rpc, rpcMessages, structured, userWithKey } from "./fixture.ts";

let app: TestApp;
let token: string;
let email: string;
beforeAll(async () => {
  app = await createTestApp();
  const made = await userWithKey(app);
  token = made.token;
  email = made.user.email;
});
afterAll(() => app.close());

describe("protocol 2026-07-28", () => {
  test("the client negotiating with server/discover gets 2026-07-28", async () => {
    expect((await connectClient(app, token, "auto")).getNegotiatedProtocolVersion()).toBe("2026-07-28");
  });

  test("tools are called statelessly, with no Mcp-Session-Id", async () => {
    const client = await connectClient(app, token, "auto");
    expect(structured(await client.callTool({ name: "gatehouse__whoami", arguments: {} })).email).toBe(email);
  });
});

describe("2025 revisions (the SDK's stateless fallback)", () => {
  test("the client's 2025 initialize handshake works, and tools are called", async () => {
    const client = await connectClient(app, token, "legacy");
    expect(client.getNegotiatedProtocolVersion()).toMatch(/^2025-/);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("gatehouse__whoami");
    expect(structured(await client.callTool({ name: "gatehouse__whoami", arguments: {} })).email).toBe(email);
  });

  test.each(["2025-06-18", "2025-03-26", "2025-11-25"])(
    "a raw initialize with protocolVersion %s gets it back",
    async (version) => {
      const res = await rawInitialize(app, token, version);
      expect(res.status).toBe(200);
      const [message] = await rpcMessages(res);
      expect(message!.id).toBe(1);
      expect(message!.result.protocolVersion).toBe(version);
      expect(message!.result.serverInfo.name).toBe("gatehouse");
      expect(message!.result.capabilities.tools).toBeDefined();
    },
  );

  test("a raw 2025-06-18 tools/call after initialize answers with the caller's identity", async () => {
    await rawInitialize(app, token, "2025-06-18");
    const res = await rpc(
      app,
      token,
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "gatehouse__whoami", arguments: {} } },
      { "mcp-protocol-version": "2025-06-18" },
    );
    expect(res.status).toBe(200);
    const [message] = await rpcMessages(res);
    expect(JSON.parse(message!.result.content[0].text).email).toBe(email);
  });

  test("a read-only caller's 2025-era tools/call of a write tool is 403 too", async () => {
    const { token: readKey } = await userWithKey(app, "read");
    const call = {
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "gatehouse__revoke_connection", arguments: { kind: "api_key", id: "x" } },
    };
    const res = await rpc(app, readKey, call, { "mcp-protocol-version": "2025-06-18" });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  test("GET (a 2025 session stream) is answered 405 by the stateless server, never HTML", async () => {
    const res = await fetch(mcpUrl(app), {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get("content-type")).toContain("application/json");
  });

  test("DELETE (ending a 2025 session) is answered 405: there are no sessions", async () => {
    const res = await fetch(mcpUrl(app), { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(405);
  });
});
