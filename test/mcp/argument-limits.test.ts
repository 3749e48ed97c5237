import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import type { ArgumentLimits } from "../../src/mcp/argument-gates.ts";
import { permissionDeniedCode } from "../../src/mcp/permission-denied.ts";
import { parsePolicies } from "../../src/mcp/policy-config.ts";
import { detailOf, onlyAuditRow } from "../audit/fixture.ts";
import { startHttpUpstream, type HttpUpstream } from "../gateway/http-upstream.ts";
import { everythingEntry, textOf, waitFor } from "../gateway/upstreams.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { exchangeCode, makeClient, makeCode, makeUser, nowSeconds } from "../oauth/token-fixture.ts";
import { connectClient, rpc, rpcMessages } from "./fixture.ts";

// Argument limits on /mcp with the real SDK client over real HTTP and real
// upstreams: server-everything over stdio (its echo made a write tool) and
// an SDK v2 server over HTTP that counts the calls it runs (web__store).
// Admin policy: web__store's `text` must match "ok-*" for members of
// example.org; everyone's everything__echo `message` must be "fine" or start with "hello ".

const echo = "everything__echo";
const store = "web__store";

let upstream: HttpUpstream;
let app: TestApp;
beforeAll(async () => {
  upstream = startHttpUpstream();
  const toml = `
[[upstream]]
name = "everything"
command = "node"
args = ["${everythingEntry}", "stdio"]
write = ["echo"]

[[upstream]]
name = "web"
url = "${upstream.url}"

[[policy]]
tool = "web__store"
argument = "text"
allow = ["ok-*"]
people = ["*@example.org"]

[[policy]]
tool = "everything__echo"
argument = "message"
allow = ["hello *", "fine"]
`;
  app = await createTestApp({
    gateway: parseGatewayConfig("test.toml", toml, {}),
    policies: parsePolicies("test.toml", toml),
  });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
});
afterAll(async () => {
  await app.close();
  upstream.stop();
});

async function keyWithLimits(limits: ArgumentLimits | null, email?: string) {
  const user = await makeUser(app, email === undefined ? {} : { email });
  const { apiKey, token } = await createApiKey(app.db, {
    userId: user.id,
    name: "ci",
    access: "full",
    argumentLimits: limits,
    expiresInSeconds: null,
    now: nowSeconds(),
  });
  return { user, apiKey, token };
}

const refusalOf = (error: unknown) => error as { code?: number; data?: Record<string, unknown>; message?: string };

describe("a key with argument limits", () => {
  test("a call inside the limit runs upstream (server-everything over stdio)", async () => {
    const { token } = await keyWithLimits({ [echo]: { message: ["hello *"] } });
    const result = await (await connectClient(app, token)).callTool({
      name: echo,
      arguments: { message: "hello world" },
    });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe("Echo: hello world");
  });

  test("a call outside it is refused before dispatch with permission_denied and missing argument:<name>", async () => {
    const { token } = await keyWithLimits({ [store]: { text: ["acme/*"] } });
    const before = upstream.toolCalls;
    const error = refusalOf(
      await (await connectClient(app, token))
        .callTool({ name: store, arguments: { text: "other/x" } })
        .catch((e: unknown) => e),
    );
    expect(error.code).toBe(permissionDeniedCode);
    expect(error.data).toMatchObject({ error: "permission_denied", tool: store, missing: "argument:text" });
    expect(String(error.message)).toContain('The API key "ci" may call web__store only with text matching acme/*');
    expect(upstream.toolCalls).toBe(before);
  });

  test("`*` does not cross `/`: acme/* allows acme/widgets, not acme/widgets/x", async () => {
    const { token } = await keyWithLimits({ [store]: { text: ["acme/*"] } });
    const client = await connectClient(app, token);
    expect((await client.callTool({ name: store, arguments: { text: "acme/widgets" } })).isError).toBeFalsy();
    expect(
      refusalOf(await client.callTool({ name: store, arguments: { text: "acme/widgets/x" } }).catch((e: unknown) => e))
        .code,
    ).toBe(permissionDeniedCode);
  });

  test("a missing or non-string constrained argument is refused, not guessed at", async () => {
    const { token } = await keyWithLimits({ [store]: { text: ["*"] } });
    for (const args of [{}, { text: 7 }, { text: ["acme/x"] }]) {
      const [body] = await rpcMessages(
        await rpc(app, token, {
          jsonrpc: "2.0",
          id: 5,
          method: "tools/call",
          params: { name: store, arguments: args },
        }),
      );
      expect([body!.error?.code, body!.error?.data.missing]).toEqual([permissionDeniedCode, "argument:text"]);
    }
  });

  test("the refusal is HTTP 200 with a JSON-RPC error, as the per-tool refusal", async () => {
    const { token } = await keyWithLimits({ [store]: { text: ["a"] } });
    const res = await rpc(app, token, {
      jsonrpc: "2.0",
      id: 9,
      method: "tools/call",
      params: { name: store, arguments: { text: "b" } },
    });
    const [body] = await rpcMessages(res);
    expect(res.status).toBe(200);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(body!.id).toBe(9);
    expect(body!.error.data.request_id).toBe(res.headers.get("x-request-id"));
  });

  test("the refused call is audited: outcome denied, missing, and the arguments tried", async () => {
    const { user, apiKey, token } = await keyWithLimits({ [store]: { text: ["acme/*"] } });
    await (await connectClient(app, token)).callTool({ name: store, arguments: { text: "evil/x" } }).catch(() => null);
    const row = await onlyAuditRow(app, { event: "tool_call", userId: user.id });
    expect(row).toMatchObject({ outcome: "denied", apiKeyId: apiKey.id, tool: store, upstream: "web" });
    expect(detailOf(row)).toEqual({
      reason: "permission_denied",
      missing: "argument:text",
      arguments: { text: "evil/x" },
    });
  });
});

describe("a connection with argument limits", () => {
  test("its limits apply to its tokens, with a hint to change them on /keys", async () => {
    const user = await makeUser(app);
    const { client } = await makeClient(app, { name: "Cursor" });
    const { authorization, code } = await makeCode(app, { userId: user.id, clientId: client.id, tools: null });
    const { oauthGrants } = app.db.tables;
    await app.db
      .update(oauthGrants)
      .set({ argumentLimits: { [store]: { text: ["mine-*"] } } })
      .where(eq(oauthGrants.id, authorization.id));
    const tokens = await exchangeCode(app, client.id, code);
    const mcp = await connectClient(app, tokens.access_token);
    expect((await mcp.callTool({ name: store, arguments: { text: "mine-1" } })).isError).toBeFalsy();
    const error = refusalOf(await mcp.callTool({ name: store, arguments: { text: "yours" } }).catch((e: unknown) => e));
    expect(error.data).toMatchObject({
      missing: "argument:text",
      hint: `Call it with an allowed text, or change the connection's argument limits at ${app.url}/keys.`,
    });
  });
});

describe("admin policy", () => {
  test("applies to the people it names: a member of example.org is refused outside ok-*", async () => {
    const { token } = await keyWithLimits(null, `p${crypto.randomUUID().slice(0, 8)}@example.org`);
    const client = await connectClient(app, token);
    expect((await client.callTool({ name: store, arguments: { text: "ok-1" } })).isError).toBeFalsy();
    const error = refusalOf(
      await client.callTool({ name: store, arguments: { text: "nope" } }).catch((e: unknown) => e),
    );
    expect(error.data).toMatchObject({ missing: "argument:text" });
    expect(String(error.message)).toContain(
      "An admin policy of this Gatehouse allows web__store only with text matching ok-*",
    );
  });

  test("leaves people it does not name alone", async () => {
    const { token } = await keyWithLimits(null);
    expect(
      (await (await connectClient(app, token)).callTool({ name: store, arguments: { text: "nope" } })).isError,
    ).toBeFalsy();
  });

  test("and the key's own limits must both allow a call", async () => {
    const { token } = await keyWithLimits(
      { [store]: { text: ["ok-a*"] } },
      `q${crypto.randomUUID().slice(0, 8)}@example.org`,
    );
    const client = await connectClient(app, token);
    expect((await client.callTool({ name: store, arguments: { text: "ok-abc" } })).isError).toBeFalsy();
    // The policy allows ok-b, the key does not.
    expect(
      refusalOf(await client.callTool({ name: store, arguments: { text: "ok-b" } }).catch((e: unknown) => e)).code,
    ).toBe(permissionDeniedCode);
  });

  test("a policy rule for everyone gates server-everything's echo", async () => {
    const { token } = await keyWithLimits(null);
    const client = await connectClient(app, token);
    expect(textOf(await client.callTool({ name: echo, arguments: { message: "fine" } }))).toBe("Echo: fine");
    expect(
      refusalOf(await client.callTool({ name: echo, arguments: { message: "forbidden" } }).catch((e: unknown) => e))
        .code,
    ).toBe(permissionDeniedCode);
  });
});

describe("whoami and list_connections", () => {
  test("whoami names each limit on this caller and who set it", async () => {
    const { token } = await keyWithLimits(
      { [store]: { text: ["ok-a*"] } },
      `w${crypto.randomUUID().slice(0, 8)}@example.org`,
    );
    const who = (await (await connectClient(app, token)).callTool({ name: "gatehouse__whoami", arguments: {} }))
      .structuredContent as Record<string, unknown>;
    expect(who.argument_limits).toEqual([
      { tool: store, argument: "text", allow: ["ok-a*"], set_by: "api_key" },
      { tool: store, argument: "text", allow: ["ok-*"], set_by: "policy" },
      { tool: echo, argument: "message", allow: ["hello *", "fine"], set_by: "policy" },
    ]);
  });

  test("list_connections shows each key's own limits", async () => {
    const { token, apiKey } = await keyWithLimits({ [store]: { text: ["acme/*"] } });
    const listed = (
      await (await connectClient(app, token)).callTool({ name: "gatehouse__list_connections", arguments: {} })
    ).structuredContent as {
      api_keys: { id: string; argument_limits: unknown }[];
    };
    expect(listed.api_keys.find((k) => k.id === apiKey.id)!.argument_limits).toEqual([
      { tool: store, argument: "text", allow: ["acme/*"], set_by: "api_key" },
    ]);
  });
});
