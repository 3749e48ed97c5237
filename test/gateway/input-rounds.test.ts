import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  Client,
  ProtocolError,
  StreamableHTTPClientTransport,
  type CallToolResult,
  type ClientCapabilities,
} from "@modelcontextprotocol/client";
import { spawn, type Subprocess } from "bun";
import { eq } from "drizzle-orm";
import { join } from "node:path";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { detailOf, auditRows } from "../audit/fixture.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { connectClient, mcpUrl, userWithKey } from "../mcp/fixture.ts";
import { askingResourceUri, startAskingUpstream, upstreamStateFor, type AskingUpstream } from "./asking-upstream.ts";
import { everythingEntry, textOf, waitFor } from "./upstreams.ts";

// Input-required rounds (MCP 2026-07-28, basic/patterns/mrtr) through the
// gateway, driven by 2026-07-28 clients of the real SDK: a 2026-07-28 HTTP
// upstream's own rounds (asking-upstream.ts), and server-everything over
// stdio and over HTTP (MCP 2025), whose elicitation, sampling and roots
// requests become rounds while its call is held.

let asking: AskingUpstream;
let app: TestApp;
beforeAll(async () => {
  asking = startAskingUpstream();
  const toml = `
[[upstream]]
name = "everything"
command = "node"
args = ["${everythingEntry}", "stdio"]

[[upstream]]
name = "asking"
url = "${asking.url}"
`;
  app = await createTestApp({
    gateway: parseGatewayConfig("test.toml", toml, {}),
    env: { GATEHOUSE_TOOL_TIMEOUT: "10" },
  });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
  // server-everything offers its asking tools once it saw the capabilities Gatehouse declares.
  await everythingSettled(app);
});
afterAll(async () => {
  await app.close();
  asking.stop();
});

/** A port nothing listens on right now (the OS picks it). */
function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/**
 * server-everything asks for roots/list on its own once connected, with no
 * call in flight (refused); the tests start after that, so it cannot land
 * in one of their calls.
 */
async function everythingSettled(target: TestApp) {
  await waitFor(() => target.gateway!.tools().some((t) => t.name === "everything__trigger-elicitation-request"));
  await waitFor(() =>
    target.logs.some(
      (l) => l.msg === "upstream request refused" && l.upstream === "everything" && l.method === "roots/list",
    ),
  );
}

const everyAnswer: ClientCapabilities = { elicitation: { form: {} }, sampling: {}, roots: {} };

/** A 2026-07-28 client (or, with `legacy`, a 2025 one) declaring `capabilities`, answering what it declared. */
async function connect(
  token: string,
  capabilities: ClientCapabilities = everyAnswer,
  mode: "auto" | "legacy" = "auto",
  target: TestApp = app,
) {
  const client = new Client({ name: "rounds-test", version: "1.0.0" }, { versionNegotiation: { mode }, capabilities });
  if (capabilities.elicitation)
    client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { name: "Ada" } }));
  if (capabilities.sampling) {
    client.setRequestHandler("sampling/createMessage", async () => ({
      role: "assistant",
      content: { type: "text", text: "sampled by the test" },
      model: "test-model",
    }));
  }
  if (capabilities.roots)
    client.setRequestHandler("roots/list", async () => ({ roots: [{ uri: "file:///work/project", name: "project" }] }));
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcpUrl(target)), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** A call answered by hand: the round comes back as it is (input_required, inputRequests, requestState). */
type Round = {
  resultType: string;
  inputRequests?: Record<string, { method: string; params?: Record<string, unknown> }>;
  requestState?: string;
};
const manual = { allowInputRequired: true } as const;
const firstRound = async (client: Client, name: string, args: Record<string, unknown> = {}) =>
  (await client.callTool({ name, arguments: args }, manual)) as unknown as Round;
const retry = (
  client: Client,
  name: string,
  args: Record<string, unknown>,
  round: Partial<Round> & { inputResponses?: Record<string, unknown> },
) =>
  client.callTool(
    {
      name,
      arguments: args,
      ...(round.requestState !== undefined && { requestState: round.requestState }),
      inputResponses: round.inputResponses ?? {},
    } as never,
    manual,
  ) as Promise<CallToolResult>;
const codeOf = (error: unknown) => (error instanceof ProtocolError ? error.code : error);

describe("a 2026-07-28 upstream's rounds", () => {
  test("pass through to a 2026-07-28 client, whose SDK answers them: the upstream gets its own state back", async () => {
    const { token } = await userWithKey(app);
    const result = await (await connect(token)).callTool({ name: "asking__confirm", arguments: { item: "deploy" } });
    expect(textOf(result)).toBe("deploy confirmed by Ada");
    expect(asking.statesSeen.at(-1)).toBe(upstreamStateFor("deploy"));
  });

  test("the client gets the upstream's request and a sealed state, not the upstream's", async () => {
    const { token } = await userWithKey(app);
    const round = await firstRound(await connect(token), "asking__confirm", { item: "sealed" });
    expect(round.resultType).toBe("input_required");
    expect(round.inputRequests?.who?.method).toBe("elicitation/create");
    expect(round.requestState).not.toBe(upstreamStateFor("sealed"));
    expect(round.requestState!.startsWith("v1.")).toBe(true);
  });

  test("the upstream sees the capabilities the calling client declared, per call", async () => {
    const { token } = await userWithKey(app);
    const elicitOnly = await (await connect(token, { elicitation: { form: {} } })).callTool({
      name: "asking__capabilities",
      arguments: {},
    });
    expect(JSON.parse(textOf(elicitOnly))).toEqual({ elicitation: { form: {} } });
    const nothing = await (await connect(token, {})).callTool({ name: "asking__capabilities", arguments: {} });
    expect(JSON.parse(textOf(nothing))).toEqual({});
  });

  test("a retry under another credential is a JSON-RPC error, and the round still completes for its own caller", async () => {
    const owner = await userWithKey(app);
    const other = await userWithKey(app);
    const ownerClient = await connect(owner.token);
    const round = await firstRound(ownerClient, "asking__confirm", { item: "stolen" });
    const answers = { inputResponses: { who: { action: "accept", content: { name: "Mallory" } } } };
    const stolen = retry(await connect(other.token), "asking__confirm", { item: "stolen" }, { ...round, ...answers });
    expect(await stolen.then(() => "answered", codeOf)).toBe(-32602);
    const own = await retry(
      ownerClient,
      "asking__confirm",
      { item: "stolen" },
      { ...round, inputResponses: { who: { action: "accept", content: { name: "Ada" } } } },
    );
    expect(textOf(own)).toBe("stolen confirmed by Ada");
  });

  test("a tampered state is a JSON-RPC error", async () => {
    const { token } = await userWithKey(app);
    const client = await connect(token);
    const round = await firstRound(client, "asking__confirm", { item: "x" });
    const answers = { who: { action: "accept", content: { name: "Ada" } } };
    const tampered = `${round.requestState!.slice(0, -2)}AA`;
    expect(
      await retry(client, "asking__confirm", { item: "x" }, { requestState: tampered, inputResponses: answers }).then(
        () => "answered",
        codeOf,
      ),
    ).toBe(-32602);
  });

  test("a state brought to another tool is refused there, and that tool does not run", async () => {
    const { token } = await userWithKey(app);
    const client = await connect(token);
    const round = await firstRound(client, "asking__confirm", { item: "x" });
    const result = await retry(client, "everything__echo", { message: "x" }, { ...round, inputResponses: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe("This requestState belongs to a round of asking__confirm, not of everything__echo.");
  });

  test("the retry is gated again: a grant taken away between rounds refuses it", async () => {
    const { apiKey, token } = await userWithKey(app);
    const client = await connect(token);
    const round = await firstRound(client, "asking__confirm", { item: "gated" });
    const { apiKeys } = app.db.tables;
    await app.db
      .update(apiKeys)
      .set({ tools: ["asking__other"] })
      .where(eq(apiKeys.id, apiKey.id));
    const answers = { who: { action: "accept", content: { name: "Ada" } } };
    expect(
      await retry(client, "asking__confirm", { item: "gated" }, { ...round, inputResponses: answers }).then(
        () => "answered",
        codeOf,
      ),
    ).toBe(-32003);
  });

  test("prompts/get and resources/read rounds pass through too", async () => {
    const { token } = await userWithKey(app);
    const client = await connect(token);
    const prompt = await client.getPrompt({ name: "asking__briefing" });
    expect(prompt.messages[0]!.content).toEqual({ type: "text", text: "Brief me on Ada" });
    const resource = await client.readResource({ uri: askingResourceUri });
    expect(resource.contents[0]).toMatchObject({ uri: askingResourceUri, text: "report for Ada" });
  });

  test("a prompt's round under another credential, or brought to another prompt, is a JSON-RPC error", async () => {
    const owner = await userWithKey(app);
    const other = await userWithKey(app);
    const round = (await (
      await connect(owner.token)
    ).getPrompt({ name: "asking__briefing" }, manual)) as unknown as Round;
    expect(round.resultType).toBe("input_required");
    const answers = { topic: { action: "accept", content: { name: "Mallory" } } };
    const retryPrompt = (client: Client, name: string) =>
      client
        .getPrompt({ name, requestState: round.requestState, inputResponses: answers } as never, manual)
        .then(() => "answered", codeOf);
    expect(await retryPrompt(await connect(other.token), "asking__briefing")).toBe(-32602);
    expect(await retryPrompt(await connect(owner.token), "everything__simple-prompt")).toBe(-32602);
  });

  test("a 2025 client gets a tool error: the upstream was told it can answer nothing", async () => {
    const { token } = await userWithKey(app);
    const result = await (await connectClient(app, token, "legacy")).callTool({
      name: "asking__confirm",
      arguments: { item: "old" },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("upstream asking refused tools/call confirm");
  });
});

describe("a 2025 upstream's requests (server-everything over stdio)", () => {
  test("elicitation reaches a 2026-07-28 client as a round, and its answer reaches the upstream", async () => {
    const { token } = await userWithKey(app);
    const result = await (await connect(token)).callTool({
      name: "everything__trigger-elicitation-request",
      arguments: {},
    });
    expect(result.isError).toBeFalsy();
    expect((result.content as { text: string }[]).map((c) => c.text).join("\n")).toContain("- Name: Ada");
  });

  test("sampling reaches a 2026-07-28 client as a round, and its answer reaches the upstream", async () => {
    const { token } = await userWithKey(app);
    const result = await (await connect(token)).callTool({
      name: "everything__trigger-sampling-request",
      arguments: { prompt: "hello" },
    });
    expect(textOf(result)).toContain("sampled by the test");
  });

  test("roots/list reaches a 2026-07-28 client as a round", async () => {
    const { token } = await userWithKey(app);
    const result = await (await connect(token)).callTool({ name: "everything__get-roots-list", arguments: {} });
    expect(textOf(result)).toContain("file:///work/project");
  });

  test("a round's state under another credential is a JSON-RPC error; its own caller completes it", async () => {
    const owner = await userWithKey(app);
    const other = await userWithKey(app);
    const ownerClient = await connect(owner.token);
    const round = await firstRound(ownerClient, "everything__trigger-elicitation-request");
    expect(round.resultType).toBe("input_required");
    const [key, request] = Object.entries(round.inputRequests!)[0]!;
    expect(request.method).toBe("elicitation/create");
    const answer = (name: string) => ({ [key]: { action: "accept", content: { name } } });
    const stolen = retry(
      await connect(other.token),
      "everything__trigger-elicitation-request",
      {},
      { ...round, inputResponses: answer("Mallory") },
    );
    expect(await stolen.then(() => "answered", codeOf)).toBe(-32602);
    const own = await retry(
      ownerClient,
      "everything__trigger-elicitation-request",
      {},
      { ...round, inputResponses: answer("Ada") },
    );
    expect((own.content as { text: string }[]).map((c) => c.text).join("\n")).toContain("- Name: Ada");
  });

  test("a round answered already is over: its state again is a JSON-RPC error", async () => {
    const { token } = await userWithKey(app);
    const client = await connect(token);
    const round = await firstRound(client, "everything__trigger-sampling-request", { prompt: "once" });
    const [key] = Object.keys(round.inputRequests!);
    const answers = { [key!]: { role: "assistant", content: { type: "text", text: "once" }, model: "m" } };
    expect(
      textOf(
        await retry(
          client,
          "everything__trigger-sampling-request",
          { prompt: "once" },
          { ...round, inputResponses: answers },
        ),
      ),
    ).toContain("once");
    const replay = retry(
      client,
      "everything__trigger-sampling-request",
      { prompt: "once" },
      { ...round, inputResponses: answers },
    );
    expect(await replay.then(() => "answered", codeOf)).toBe(-32602);
  });

  test("a 2026-07-28 client that did not declare elicitation gets the upstream's answer to a refusal", async () => {
    const { token } = await userWithKey(app);
    const result = await (await connect(token, { sampling: {} })).callTool({
      name: "everything__trigger-elicitation-request",
      arguments: {},
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("did not declare the elicitation capability");
  });

  test("a 2025 client keeps the clear refusal: it is served statelessly", async () => {
    const { token } = await userWithKey(app);
    const result = await (await connectClient(app, token, "legacy")).callTool({
      name: "everything__trigger-elicitation-request",
      arguments: {},
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("speaks MCP 2025 and is served statelessly");
  });

  test("a 2025 request bringing a round's state is refused, and the round stays its client's", async () => {
    const { token } = await userWithKey(app);
    const client = await connect(token);
    const round = await firstRound(client, "everything__trigger-sampling-request", { prompt: "kept" });
    const legacy = await connectClient(app, token, "legacy");
    const refused = await legacy.callTool({
      name: "everything__trigger-sampling-request",
      arguments: { prompt: "kept" },
      requestState: round.requestState,
      inputResponses: {},
    } as never);
    expect(textOf(refused)).toBe("Input-required rounds are answered by 2026-07-28 clients only.");
    const [key] = Object.keys(round.inputRequests!);
    const answers = { [key!]: { role: "assistant", content: { type: "text", text: "kept" }, model: "m" } };
    expect(
      textOf(
        await retry(
          client,
          "everything__trigger-sampling-request",
          { prompt: "kept" },
          { ...round, inputResponses: answers },
        ),
      ),
    ).toContain("kept");
  });

  test("with another call in flight on the connection, the request goes to nobody", async () => {
    const { token } = await userWithKey(app);
    const busy = await connect(token);
    const slow = busy.callTool({
      name: "everything__trigger-long-running-operation",
      arguments: { duration: 2, steps: 2 },
    });
    await waitFor(() => (app.gateway!.upstreams.find((u) => u.name === "everything")?.askers.size ?? 0) === 1);
    const result = await (await connect(token)).callTool({
      name: "everything__trigger-elicitation-request",
      arguments: {},
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("cannot tell which one the request is about");
    expect((await slow).isError).toBeFalsy();
  });
});

describe("an SDK v2 server over stdio that asks two things at once", () => {
  let twoAtOnce: TestApp;
  beforeAll(async () => {
    const fixture = join(import.meta.dir, "asking-stdio-upstream.ts");
    const toml = `[[upstream]]\nname = "two"\ncommand = "${process.execPath}"\nargs = ["${fixture}"]\n`;
    twoAtOnce = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, {}) });
    await waitFor(() => twoAtOnce.gateway!.tools().some((t) => t.name === "two__two_questions"));
  });
  afterAll(() => twoAtOnce.close());

  test("both its requests reach the caller (in one round or two), and both answers reach it", async () => {
    const { token } = await userWithKey(twoAtOnce);
    const result = await (await connect(token, everyAnswer, "auto", twoAtOnce)).callTool({
      name: "two__two_questions",
      arguments: {},
    });
    expect(textOf(result)).toBe("Ada at file:///work/project");
  });
});

describe("instances = 2 of a stdio server that asks", () => {
  let two: TestApp;
  beforeAll(async () => {
    const fixture = join(import.meta.dir, "asking-stdio-upstream.ts");
    const toml = `[[upstream]]\nname = "two"\ncommand = "${process.execPath}"\nargs = ["${fixture}"]\ninstances = 2\n`;
    two = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, {}) });
    await waitFor(() => two.gateway!.statuses()[0]!.instances?.running === 2);
  });
  afterAll(() => two.close());

  test("two calls at once run on one process each, and each one's rounds and answers stay with it", async () => {
    const { token } = await userWithKey(two);
    const client = await connect(token, everyAnswer, "auto", two);
    const results = await Promise.all([1, 2].map(() => client.callTool({ name: "two__two_questions", arguments: {} })));
    expect(results.map(textOf)).toEqual(["Ada at file:///work/project", "Ada at file:///work/project"]);
  });
});

describe("a 2025 upstream over HTTP (server-everything, Streamable HTTP)", () => {
  let child: Subprocess;
  let overHttp: TestApp;
  beforeAll(async () => {
    const port = freePort();
    child = spawn(["node", everythingEntry, "streamableHttp"], {
      env: { ...process.env, PORT: String(port) },
      stdout: "ignore",
      stderr: "ignore",
    });
    await waitFor(() =>
      fetch(`http://127.0.0.1:${port}/mcp`, { method: "DELETE" }).then(
        () => true,
        () => false,
      ),
    );
    const toml = `[[upstream]]\nname = "everything"\nurl = "http://127.0.0.1:${port}/mcp"\n`;
    overHttp = await createTestApp({ gateway: parseGatewayConfig("test.toml", toml, {}) });
    await everythingSettled(overHttp);
  });
  afterAll(async () => {
    await overHttp.close();
    child.kill();
  });

  test("its elicitation reaches a 2026-07-28 client as a round, and the answer reaches it", async () => {
    const { token } = await userWithKey(overHttp);
    expect(overHttp.gateway!.upstreams[0]!.client()!.getProtocolEra()).toBe("legacy");
    const result = await (await connect(token, everyAnswer, "auto", overHttp)).callTool({
      name: "everything__trigger-elicitation-request",
      arguments: {},
    });
    expect((result.content as { text: string }[]).map((c) => c.text).join("\n")).toContain("- Name: Ada");
  });
});

describe("a held call past the tool timeout", () => {
  let short: TestApp;
  beforeAll(async () => {
    const toml = `[[upstream]]\nname = "everything"\ncommand = "node"\nargs = ["${everythingEntry}", "stdio"]\n`;
    short = await createTestApp({
      gateway: parseGatewayConfig("test.toml", toml, {}),
      env: { GATEHOUSE_TOOL_TIMEOUT: "1" },
    });
    await everythingSettled(short);
  });
  afterAll(() => short.close());

  test("ends with the call: the upstream's request is refused and the retry is a JSON-RPC error", async () => {
    const { token } = await userWithKey(short);
    const client = await connect(token, everyAnswer, "auto", short);
    const round = await firstRound(client, "everything__trigger-elicitation-request");
    expect(round.resultType).toBe("input_required");
    const everything = short.gateway!.upstreams[0]!;
    await waitFor(() => everything.askers.size === 0);
    const [key] = Object.keys(round.inputRequests!);
    const late = retry(
      client,
      "everything__trigger-elicitation-request",
      {},
      { ...round, inputResponses: { [key!]: { action: "accept", content: { name: "Late" } } } },
    );
    expect(await late.then(() => "answered", codeOf)).toBe(-32602);
  });
});

describe("the audit log", () => {
  test("a round is an entry with outcome input_required naming what it asked; the retry is an entry of its own", async () => {
    const { user, token } = await userWithKey(app);
    await (await connect(token)).callTool({
      name: "everything__trigger-sampling-request",
      arguments: { prompt: "audited" },
    });
    const rows = await auditRows(app, { event: "tool_call", userId: user.id });
    expect(rows.map((r) => r.outcome)).toEqual(["input_required", "ok"]);
    expect(detailOf(rows[0]!).asked).toEqual(["sampling/createMessage"]);
    expect(rows.every((r) => r.tool === "everything__trigger-sampling-request")).toBe(true);
  });
});
