// The upstream behind Gatehouse for the MCP conformance suite: an SDK v2
// server over stdio with the fixtures the suite's `server` scenarios call
// (tools, resources, prompts, completion and logging named as the suite
// expects, in 0.1.16 and in 0.2.0-alpha.12, whose server-stateless, caching
// and http-*-validation scenarios add a few), plus `test_cancellable` and
// `test_update_resource` for the gateway's own tests
// (test/gateway/forwarding.test.ts). fixture-upstream-http.ts serves the same
// server (conformanceServer) over Streamable HTTP.
// Run as `bun test/conformance/fixture-upstream.ts`; it writes one stderr
// line per event worth checking, which Gatehouse puts in its log.
import {
  fromJsonSchema,
  McpServer,
  ResourceTemplate,
  type ServerContext,
  type ServerOptions,
} from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";

// A 1x1 PNG and a minimal WAV, base64.
const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const wav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

const noArgs = fromJsonSchema({ type: "object", properties: {} });
const stringArgs = (...names: string[]) =>
  fromJsonSchema<Record<string, string>>({
    type: "object",
    properties: Object.fromEntries(names.map((n) => [n, { type: "string" }])),
    required: names,
  });
// SEP-1613 and SEP-2106: these keywords must reach the client unchanged through the gateway.
const schema2020 = fromJsonSchema({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  $defs: {
    address: {
      $anchor: "addressDef",
      type: "object",
      properties: { street: { type: "string" }, city: { type: "string" } },
    },
  },
  properties: {
    name: { type: "string" },
    address: { $ref: "#/$defs/address" },
    contactMethod: { type: "string", enum: ["phone", "email"] },
    phone: { type: "string" },
    email: { type: "string" },
  },
  allOf: [{ anyOf: [{ required: ["phone"] }, { required: ["email"] }] }],
  if: { properties: { contactMethod: { const: "phone" } }, required: ["contactMethod"] },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keywords, not a thenable.
  then: { required: ["phone"] },
  else: { required: ["email"] },
  additionalProperties: false,
});
// SEP-2243: an argument a 2026-07-28 client also sends as the Mcp-Param-Region header.
const region = { type: "string", "x-mcp-header": "Region" } as const;
const regionArgs = fromJsonSchema<{ region: string }>({ type: "object", properties: { region }, required: ["region"] });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });

/** What differs between the stdio fixture (one server for the connection) and the HTTP one (a server per request). */
export interface FixtureHost {
  /** A line worth checking (stdio: one stderr line, which Gatehouse logs). */
  note(line: string): void;
  /** Adds test_dynamic_tool (test_dynamic_prompt) when absent, removes it when present, and tells the client. */
  toggle(list: "tools" | "prompts", server: McpServer): void;
}

/** The tool and the prompt test_trigger_tool_change and test_trigger_prompt_change add and remove. */
export function registerDynamic(server: McpServer, list: "tools" | "prompts"): { remove(): void } {
  return list === "tools"
    ? server.registerTool("test_dynamic_tool", { description: "Comes and goes.", inputSchema: noArgs }, async () =>
        text("dynamic"),
      )
    : server.registerPrompt("test_dynamic_prompt", { description: "Comes and goes." }, () => ({ messages: [] }));
}

function registerTools(server: McpServer, { note, toggle }: FixtureHost) {
  server.registerTool("test_simple_text", { description: "Returns simple text.", inputSchema: noArgs }, async () =>
    text("This is a simple text response for testing."),
  );
  server.registerTool("test_image_content", { description: "Returns an image.", inputSchema: noArgs }, async () => ({
    content: [{ type: "image", data: png, mimeType: "image/png" }],
  }));
  server.registerTool("test_audio_content", { description: "Returns audio.", inputSchema: noArgs }, async () => ({
    content: [{ type: "audio", data: wav, mimeType: "audio/wav" }],
  }));
  server.registerTool(
    "test_embedded_resource",
    { description: "Returns an embedded resource.", inputSchema: noArgs },
    async () => ({
      content: [
        {
          type: "resource",
          resource: {
            uri: "test://embedded-resource",
            mimeType: "text/plain",
            text: "This is an embedded resource content.",
          },
        },
      ],
    }),
  );
  server.registerTool(
    "test_multiple_content_types",
    { description: "Returns text, an image and a resource.", inputSchema: noArgs },
    async () => ({
      content: [
        { type: "text", text: "Multiple content types test:" },
        { type: "image", data: png, mimeType: "image/png" },
        {
          type: "resource",
          resource: {
            uri: "test://mixed-content-resource",
            mimeType: "application/json",
            text: JSON.stringify({ test: "data", value: 123 }),
          },
        },
      ],
    }),
  );
  server.registerTool(
    "test_tool_with_logging",
    { description: "Logs three messages while it runs.", inputSchema: noArgs },
    async (_args, ctx) => {
      for (const [i, message] of [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
      ].entries()) {
        if (i > 0) await sleep(50);
        await ctx.mcpReq.log("info", message, "conformance-fixture");
      }
      return text("Tool with logging executed successfully");
    },
  );
  server.registerTool(
    "test_tool_with_progress",
    { description: "Reports progress 0, 50, 100.", inputSchema: noArgs },
    async (_args, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (const [i, progress] of [0, 50, 100].entries()) {
        if (i > 0) await sleep(50);
        if (progressToken !== undefined)
          await ctx.mcpReq.notify({
            method: "notifications/progress",
            params: { progressToken, progress, total: 100 },
          });
      }
      return text(`progress token ${String(progressToken)}`);
    },
  );
  server.registerTool("test_error_handling", { description: "Always fails.", inputSchema: noArgs }, async () => {
    throw new Error("This tool intentionally returns an error for testing");
  });
  server.registerTool(
    "test_sampling",
    { description: "Asks the client to sample.", inputSchema: stringArgs("prompt") },
    async ({ prompt }, ctx) => {
      const result = await ctx.mcpReq.requestSampling({
        messages: [{ role: "user", content: { type: "text", text: prompt! } }],
        maxTokens: 100,
      });
      return text(`LLM response: ${JSON.stringify(result.content)}`);
    },
  );
  server.registerTool(
    "test_elicitation",
    { description: "Asks the user for input.", inputSchema: stringArgs("message") },
    async ({ message }, ctx) => {
      const result = await ctx.mcpReq.elicitInput({
        message: message!,
        requestedSchema: {
          type: "object",
          properties: {
            username: { type: "string", description: "User's response" },
            email: { type: "string", description: "User's email address" },
          },
          required: ["username", "email"],
        },
      });
      return text(`User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
    },
  );
  // SEP-1034 (defaults for every primitive type) and SEP-1330 (the five enum shapes).
  const elicitWith = (toolName: string, properties: Record<string, object>) =>
    server.registerTool(
      toolName,
      { description: `Elicits a form (${toolName}).`, inputSchema: noArgs },
      async (_args, ctx) => {
        const result = await ctx.mcpReq.elicitInput({
          message: "Please fill in the form",
          requestedSchema: { type: "object", properties, required: [] } as never,
        });
        return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
      },
    );
  elicitWith("test_elicitation_sep1034_defaults", {
    name: { type: "string", default: "John Doe" },
    age: { type: "integer", default: 30 },
    score: { type: "number", default: 95.5 },
    status: { type: "string", enum: ["active", "inactive", "pending"], default: "active" },
    verified: { type: "boolean", default: true },
  });
  const titled = (title: string) => [1, 2, 3].map((n) => ({ const: `value${n}`, title: `${title} ${n}` }));
  elicitWith("test_elicitation_sep1330_enums", {
    untitledSingle: { type: "string", enum: ["option1", "option2", "option3"] },
    titledSingle: { type: "string", oneOf: titled("Option") },
    legacyEnum: {
      type: "string",
      enum: ["opt1", "opt2", "opt3"],
      enumNames: ["Option One", "Option Two", "Option Three"],
    },
    untitledMulti: { type: "array", items: { type: "string", enum: ["option1", "option2", "option3"] } },
    titledMulti: { type: "array", items: { anyOf: titled("Choice") } },
  });
  // The diagnostic tools of the 2026-07-28 scenario server-stateless (SEP-2575); test_missing_capability is in fixture-input-required.ts.
  server.registerTool(
    "test_streaming_elicitation",
    { description: "Asks the user a question while the call runs.", inputSchema: noArgs },
    async (_args, ctx) => {
      const result = await ctx.mcpReq.elicitInput({
        message: "Continue?",
        requestedSchema: { type: "object", properties: { ok: { type: "boolean" } }, required: [] },
      });
      return text(`Streaming complete: action=${result.action}`);
    },
  );
  server.registerTool(
    "test_logging_tool",
    { description: "Logs one message.", inputSchema: noArgs },
    async (_args, ctx) => {
      await ctx.mcpReq.log("info", "Diagnostic trace logging activated", "conformance-fixture");
      return text("Logging evaluated");
    },
  );
  // Each call changes the tool (prompt) list, so the upstream says tools (prompts) list_changed.
  for (const list of ["tools", "prompts"] as const) {
    server.registerTool(
      `test_trigger_${list.slice(0, -1)}_change`,
      { description: `Changes the ${list} list.`, inputSchema: noArgs },
      async () => {
        toggle(list, server);
        return text("Mutation triggered");
      },
    );
  }
  server.registerTool(
    "test_header_param",
    {
      description: "Echoes a region sent in the body and, by 2026-07-28 clients, as a header.",
      inputSchema: regionArgs,
    },
    async ({ region }) => text(`region ${region}`),
  );
  server.registerTool(
    "json_schema_2020_12_tool",
    { description: "Tool with JSON Schema 2020-12 features", inputSchema: schema2020 },
    async (args) => text(`called with ${JSON.stringify(args)}`),
  );
  // For the gateway's own tests: a resource update on demand, and a call that waits until cancelled.
  server.registerTool(
    "test_update_resource",
    { description: "Says a resource changed.", inputSchema: stringArgs("uri") },
    async ({ uri }, ctx) => {
      await ctx.mcpReq.notify({ method: "notifications/resources/updated", params: { uri: uri! } });
      return text(`updated ${uri}`);
    },
  );
  server.registerTool(
    "test_cancellable",
    { description: "Waits until cancelled.", inputSchema: stringArgs("tag") },
    async ({ tag }, ctx: ServerContext) => {
      note(`test_cancellable ${tag} started`);
      await new Promise<void>((resolve) => ctx.mcpReq.signal.addEventListener("abort", () => resolve()));
      note(`test_cancellable ${tag} cancelled`);
      return text("cancelled");
    },
  );
}

function registerResources(server: McpServer, { note }: FixtureHost) {
  server.registerResource(
    "static-text",
    "test://static-text",
    { description: "A static text resource", mimeType: "text/plain" },
    async () => ({
      contents: [
        { uri: "test://static-text", mimeType: "text/plain", text: "This is the content of the static text resource." },
      ],
    }),
  );
  server.registerResource(
    "static-binary",
    "test://static-binary",
    { description: "A static binary resource", mimeType: "image/png" },
    async () => ({
      contents: [{ uri: "test://static-binary", mimeType: "image/png", blob: png }],
    }),
  );
  server.registerResource(
    "watched-resource",
    "test://watched-resource",
    { description: "A resource to subscribe to", mimeType: "text/plain" },
    async () => ({
      contents: [{ uri: "test://watched-resource", mimeType: "text/plain", text: "Watched resource content" }],
    }),
  );
  const template = new ResourceTemplate("test://template/{id}/data", { list: undefined });
  server.registerResource(
    "template",
    template,
    { description: "A resource template", mimeType: "application/json" },
    async (uri, { id }) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: "application/json",
          text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
        },
      ],
    }),
  );
  server.server.setRequestHandler("resources/subscribe", (request) => {
    note(`subscribed ${request.params.uri}`);
    return {};
  });
  server.server.setRequestHandler("resources/unsubscribe", (request) => {
    note(`unsubscribed ${request.params.uri}`);
    return {};
  });
}

function registerPrompts(server: McpServer, { note }: FixtureHost) {
  server.registerPrompt("test_simple_prompt", { description: "A prompt without arguments" }, () => ({
    messages: [{ role: "user", content: { type: "text", text: "This is a simple prompt for testing." } }],
  }));
  server.registerPrompt(
    "test_prompt_with_arguments",
    { description: "A prompt with arguments", argsSchema: stringArgs("arg1", "arg2") },
    ({ arg1, arg2 }) => ({
      messages: [
        { role: "user", content: { type: "text", text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } },
      ],
    }),
  );
  server.registerPrompt(
    "test_prompt_with_embedded_resource",
    { description: "A prompt with an embedded resource", argsSchema: stringArgs("resourceUri") },
    ({ resourceUri }) => ({
      messages: [
        {
          role: "user",
          content: {
            type: "resource",
            resource: { uri: resourceUri!, mimeType: "text/plain", text: "Embedded resource content for testing." },
          },
        },
        { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
      ],
    }),
  );
  server.registerPrompt("test_prompt_with_image", { description: "A prompt with an image" }, () => ({
    messages: [
      { role: "user", content: { type: "image", data: png, mimeType: "image/png" } },
      { role: "user", content: { type: "text", text: "Please analyze the image above." } },
    ],
  }));
  // Completion of prompt arguments: values that start with what was typed.
  server.server.setRequestHandler("completion/complete", (request) => {
    const typed = request.params.argument.value;
    const values = ["paris", "park", "party"].filter((v) => v.startsWith(typed));
    note(
      `completion ${request.params.ref.type} ${"name" in request.params.ref ? request.params.ref.name : request.params.ref.uri} ${typed}`,
    );
    return { completion: { values, total: values.length, hasMore: false } };
  });
}

/** The fixture server, its tools, resources and prompts registered. */
export function conformanceServer(host: FixtureHost, options: Omit<ServerOptions, "capabilities"> = {}): McpServer {
  const server = new McpServer(
    { name: "gatehouse-conformance-fixture", version: "1.0.0" },
    {
      ...options,
      capabilities: {
        logging: {},
        completions: {},
        resources: { subscribe: true },
        tools: { listChanged: true },
        prompts: { listChanged: true },
      },
    },
  );
  registerTools(server, host);
  registerResources(server, host);
  registerPrompts(server, host);
  return server;
}

if (import.meta.main) {
  // One server serves the connection: the dynamic tool and prompt are registered on it, and the SDK sends list_changed.
  const dynamic = new Map<string, { remove(): void }>();
  serveStdio(() =>
    conformanceServer({
      note: (line) => process.stderr.write(`${line}\n`),
      toggle(list, server) {
        const registered = dynamic.get(list);
        if (!registered) return void dynamic.set(list, registerDynamic(server, list));
        registered.remove();
        dynamic.delete(list);
      },
    }),
  );
}
