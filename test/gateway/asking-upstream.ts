// A real 2026-07-28 upstream that asks its client for input the 2026-07-28
// way (input_required results, MCP basic/patterns/mrtr): SDK v2 McpServer
// behind createMcpHandler on Bun.serve (127.0.0.1). It keeps what it saw
// for the tests: the requestState each retry brought back and the client
// capabilities each call declared. Its prompt and resource ask as well.
import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  fromJsonSchema,
  inputRequired,
  McpServer,
  type ServerContext,
} from "@modelcontextprotocol/server";

const itemArg = fromJsonSchema<{ item: string }>({
  type: "object",
  properties: { item: { type: "string" } },
  required: ["item"],
});
const noArgs = fromJsonSchema<Record<string, never>>({ type: "object", properties: {} });
const nameSchema = { type: "object" as const, properties: { name: { type: "string" as const } }, required: ["name"] };

export interface AskingUpstream {
  url: string;
  /** The requestState of every retry of `confirm`, as the upstream received it. */
  statesSeen: (string | undefined)[];
  stop(): void;
}

/** Its resource whose read asks who reads it (no requestState: the round is in the answers alone). */
export const askingResourceUri = "asking://report";

/** The upstream's own state for a round about `item`: a direct client would echo exactly this. */
export const upstreamStateFor = (item: string) => `asking-upstream:${item}`;

export function startAskingUpstream(): AskingUpstream {
  const upstream: AskingUpstream = { url: "", statesSeen: [], stop: () => {} };
  const factory = () => {
    const server = new McpServer(
      { name: "asking-upstream", version: "1.0.0" },
      { capabilities: { tools: {}, prompts: {}, resources: {} } },
    );
    // A write tool that asks who confirms, then answers with the name, if its own state came back intact.
    server.registerTool(
      "confirm",
      { description: "Asks who confirms an item.", inputSchema: itemArg },
      async ({ item }, ctx: ServerContext) => {
        const answer = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, "who");
        if (!answer) {
          return inputRequired({
            inputRequests: {
              who: inputRequired.elicit({ message: `Who confirms ${item}?`, requestedSchema: nameSchema }),
            },
            requestState: upstreamStateFor(item),
          });
        }
        const state = ctx.mcpReq.requestState<string>();
        upstream.statesSeen.push(state);
        if (state !== upstreamStateFor(item))
          return { isError: true, content: [{ type: "text", text: `state lost: ${state}` }] };
        return { content: [{ type: "text", text: `${item} confirmed by ${answer.name}` }] };
      },
    );
    // A prompt and a resource that ask first too (prompts/get and resources/read have rounds as well).
    server.registerPrompt("briefing", { description: "Asks for the topic first." }, async (ctx: ServerContext) => {
      const answer = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, "topic");
      if (!answer || ctx.mcpReq.requestState() !== "asking-upstream:prompt") {
        return inputRequired({
          inputRequests: { topic: inputRequired.elicit({ message: "Which topic?", requestedSchema: nameSchema }) },
          requestState: "asking-upstream:prompt",
        });
      }
      return { messages: [{ role: "user", content: { type: "text", text: `Brief me on ${answer.name}` } }] };
    });
    server.registerResource(
      "report",
      askingResourceUri,
      { mimeType: "text/plain" },
      async (uri, ctx: ServerContext) => {
        const answer = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, "reader");
        if (!answer)
          return inputRequired({
            inputRequests: { reader: inputRequired.elicit({ message: "Who reads it?", requestedSchema: nameSchema }) },
          });
        return { contents: [{ uri: uri.href, text: `report for ${answer.name}` }] };
      },
    );
    // A read tool that tells which client capabilities its request declared.
    server.registerTool(
      "capabilities",
      { description: "Tells what the caller can answer.", inputSchema: noArgs, annotations: { readOnlyHint: true } },
      async (_args, ctx: ServerContext) => {
        const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
        return { content: [{ type: "text", text: JSON.stringify(envelope?.[CLIENT_CAPABILITIES_META_KEY] ?? null) }] };
      },
    );
    return server;
  };
  const handler = createMcpHandler(factory);
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch: (request) => handler.fetch(request),
  });
  upstream.url = `http://127.0.0.1:${server.port}/mcp`;
  upstream.stop = () => void server.stop(true);
  return upstream;
}
