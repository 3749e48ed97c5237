// The input-required fixtures of the 2026-07-28 conformance scenarios
// (input-required-result-*, SEP-2322), on the HTTP fixture upstream
// (fixture-upstream-http.ts): tools and a prompt that answer with
// `resultType: "input_required"` until the client retries with the input
// asked for, named and keyed as the suite expects. Gatehouse passes such
// rounds between its client and this upstream.
import {
  acceptedContent,
  createRequestStateCodec,
  fromJsonSchema,
  inputRequired,
  type ClientCapabilities,
  type InputRequests,
  type McpServer,
  type ServerContext,
} from "@modelcontextprotocol/server";

const noArgs = fromJsonSchema({ type: "object", properties: {} });
const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });

const askName = (message: string) =>
  inputRequired.elicit({
    message,
    requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
  });
const askConfirmation = () =>
  inputRequired.elicit({
    message: "Please confirm",
    requestedSchema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] },
  });
const askModel = (prompt: string, maxTokens: number) =>
  inputRequired.createMessage({ messages: [{ role: "user", content: { type: "text", text: prompt } }], maxTokens });

/** The state this upstream seals into requestState (HMAC, createRequestStateCodec), so a changed one is refused. */
interface RoundState {
  tool: string;
  round: number;
  name?: string;
}
export const requestStateCodec = createRequestStateCodec<RoundState>({
  key: crypto.getRandomValues(new Uint8Array(32)),
});

const responses = (ctx: ServerContext) => ctx.mcpReq.inputResponses ?? {};
const sampledText = (response: unknown) => {
  const content = (response as { content?: { text?: unknown } } | undefined)?.content;
  return typeof content?.text === "string" ? content.text : "no response";
};
const rootCount = (response: unknown) => {
  const roots = (response as { roots?: unknown } | undefined)?.roots;
  return Array.isArray(roots) ? roots.length : 0;
};
const clientCapabilities = (ctx: ServerContext) =>
  ((ctx.mcpReq.envelope ?? {}) as Record<string, ClientCapabilities | undefined>)[
    "io.modelcontextprotocol/clientCapabilities"
  ] ?? {};

export function registerInputRequiredFixtures(server: McpServer): void {
  const tool = (name: string, handler: (ctx: ServerContext) => Promise<object> | object) =>
    server.registerTool(
      name,
      { description: `Input-required fixture ${name}.`, inputSchema: noArgs },
      async (_args, ctx) => handler(ctx) as never,
    );

  tool("test_input_required_result_elicitation", (ctx) => {
    const answer = acceptedContent<{ name?: unknown }>(responses(ctx), "user_name");
    if (typeof answer?.name === "string") return text(`Hello, ${answer.name}!`);
    return inputRequired({ inputRequests: { user_name: askName("What is your name?") } });
  });
  tool("test_input_required_result_sampling", (ctx) => {
    const sampled = responses(ctx).sample_request;
    if (sampled) return text(`Sampling result: ${sampledText(sampled)}`);
    return inputRequired({ inputRequests: { sample_request: askModel("What is the capital of France?", 100) } });
  });
  tool("test_input_required_result_list_roots", (ctx) => {
    const roots = responses(ctx).roots_request;
    if (roots) return text(`Found ${rootCount(roots)} root(s)`);
    return inputRequired({ inputRequests: { roots_request: inputRequired.listRoots() } });
  });
  tool("test_input_required_result_request_state", async (ctx) => {
    const state = ctx.mcpReq.requestState<RoundState>();
    if (state?.tool === "request-state" && acceptedContent<{ ok?: unknown }>(responses(ctx), "confirm")?.ok === true)
      return text("state-ok: requestState validated");
    return inputRequired({
      inputRequests: { confirm: askConfirmation() },
      requestState: await requestStateCodec.mint({ tool: "request-state", round: 1 }),
    });
  });
  tool("test_input_required_result_multiple_inputs", async (ctx) => {
    const { user_name, greeting, client_roots } = responses(ctx);
    if (ctx.mcpReq.requestState<RoundState>()?.tool === "multiple-inputs" && user_name && greeting && client_roots) {
      const name = acceptedContent<{ name?: unknown }>(responses(ctx), "user_name")?.name;
      return text(`Name: ${String(name)}; Greeting: ${sampledText(greeting)}; Roots: ${rootCount(client_roots)}`);
    }
    const inputRequests: InputRequests = {
      user_name: askName("What is your name?"),
      greeting: askModel("Generate a greeting", 50),
      client_roots: inputRequired.listRoots(),
    };
    return inputRequired({
      inputRequests,
      requestState: await requestStateCodec.mint({ tool: "multiple-inputs", round: 1 }),
    });
  });
  tool("test_input_required_result_multi_round", async (ctx) => {
    const state = ctx.mcpReq.requestState<RoundState>();
    const name = acceptedContent<{ name?: unknown }>(responses(ctx), "step1")?.name;
    if (state?.round === 1 && typeof name === "string") {
      const askColor = inputRequired.elicit({
        message: "Step 2: What is your favorite color?",
        requestedSchema: { type: "object", properties: { color: { type: "string" } }, required: ["color"] },
      });
      return inputRequired({
        inputRequests: { step2: askColor },
        requestState: await requestStateCodec.mint({ tool: "multi-round", round: 2, name }),
      });
    }
    const color = acceptedContent<{ color?: unknown }>(responses(ctx), "step2")?.color;
    if (state?.round === 2 && typeof color === "string")
      return text(`Multi-round complete for ${state.name} who likes ${color}`);
    return inputRequired({
      inputRequests: { step1: askName("Step 1: What is your name?") },
      requestState: await requestStateCodec.mint({ tool: "multi-round", round: 1 }),
    });
  });
  tool("test_input_required_result_tampered_state", async (ctx) => {
    if (ctx.mcpReq.requestState<RoundState>()?.tool === "tamper-test" && responses(ctx).confirm)
      return text("integrity-ok: state verified");
    return inputRequired({
      inputRequests: { confirm: askConfirmation() },
      requestState: await requestStateCodec.mint({ tool: "tamper-test", round: 1 }),
    });
  });
  // Asks only for what the client declared (its clientCapabilities).
  tool("test_input_required_result_capabilities", (ctx) => {
    if (Object.keys(responses(ctx)).length > 0) return text("Capabilities respected");
    const declared = clientCapabilities(ctx);
    const inputRequests: InputRequests = {
      ...(declared.elicitation && { elicit_input: askName("Elicitation input") }),
      ...(declared.sampling && { sample_input: askModel("Sample request", 50) }),
    };
    if (Object.keys(inputRequests).length === 0) return text("Nothing to ask this client");
    return inputRequired({ inputRequests });
  });
  // server-stateless (SEP-2575): a tool that needs the client's sampling. Asked of a client that did not
  // declare sampling, the SDK answers -32021 (MissingRequiredClientCapability) with HTTP 400.
  tool("test_missing_capability", (ctx) => {
    const sampled = responses(ctx).sample;
    if (sampled) return text(`Success: ${sampledText(sampled)}`);
    return inputRequired({ inputRequests: { sample: askModel("Say yes.", 10) } });
  });

  server.registerPrompt(
    "test_input_required_result_prompt",
    { description: "A prompt that needs context from the user first." },
    (ctx) => {
      const context = acceptedContent<{ context?: unknown }>(ctx.mcpReq.inputResponses ?? {}, "user_context")?.context;
      if (typeof context === "string")
        return { messages: [{ role: "user", content: { type: "text", text: `Prompt with context: ${context}` } }] };
      const askContext = inputRequired.elicit({
        message: "What context should the prompt use?",
        requestedSchema: { type: "object", properties: { context: { type: "string" } }, required: ["context"] },
      });
      return inputRequired({ inputRequests: { user_context: askContext } }) as never;
    },
  );
}
