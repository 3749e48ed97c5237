// A real upstream MCP server for the gateway tests: SDK v2 McpServer behind
// createMcpHandler on Bun.serve (127.0.0.1), with a read tool, a write tool,
// a slow tool (for timeouts and cancellation), and a tool added at runtime
// (for list_changed). It counts the handshakes it answers.
import { createMcpHandler, fromJsonSchema, McpServer, type ServerContext } from "@modelcontextprotocol/server";

const textArg = fromJsonSchema<{ text: string }>({
  type: "object",
  properties: { text: { type: "string" } },
  required: ["text"],
});
const slowArg = fromJsonSchema<{ ms: number }>({
  type: "object",
  properties: { ms: { type: "number" } },
  required: ["ms"],
});

export interface HttpUpstream {
  url: string;
  /** initialize and server/discover requests answered: one per client connection. */
  handshakes: number;
  toolCalls: number;
  /** Slow calls that saw their cancellation signal fire. */
  slowAborted: number;
  /** The Authorization header of every request it got (null when absent). */
  authorizations: (string | null)[];
  /** The client port of each tools/call it got: one port per TCP connection. */
  toolCallPorts: number[];
  addTool(): void;
  stop(): void;
}

export function startHttpUpstream(): HttpUpstream {
  let extraTool = false;
  const upstream = {
    handshakes: 0,
    toolCalls: 0,
    slowAborted: 0,
    authorizations: [],
    toolCallPorts: [],
  } as unknown as HttpUpstream;
  const factory = () => {
    const server = new McpServer(
      { name: "test-upstream", version: "1.0.0" },
      { capabilities: { tools: { listChanged: true } } },
    );
    server.registerTool(
      "lookup",
      {
        title: "Look up",
        description: "Reads a value.",
        inputSchema: textArg,
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      async ({ text }) => {
        upstream.toolCalls++;
        return { content: [{ type: "text", text: `found ${text}` }] };
      },
    );
    server.registerTool("store", { description: "Writes a value.", inputSchema: textArg }, async ({ text }) => {
      upstream.toolCalls++;
      return { content: [{ type: "text", text: `stored ${text}` }] };
    });
    server.registerTool(
      "slow",
      { description: "Takes its time.", inputSchema: slowArg, annotations: { readOnlyHint: true } },
      async ({ ms }, ctx: ServerContext) => {
        upstream.toolCalls++;
        const aborted = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), ms);
          ctx.mcpReq.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        if (aborted) upstream.slowAborted++;
        return { content: [{ type: "text", text: aborted ? "aborted" : `slept ${ms}` }] };
      },
    );
    if (extraTool) {
      server.registerTool(
        "added",
        { description: "Appeared later.", inputSchema: textArg, annotations: { readOnlyHint: true } },
        async ({ text }) => ({
          content: [{ type: "text", text: `added ${text}` }],
        }),
      );
    }
    return server;
  };
  const handler = createMcpHandler(factory);
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(request, server) {
      upstream.authorizations.push(request.headers.get("authorization"));
      if (request.method === "POST") {
        const body = await request
          .clone()
          .json()
          .catch(() => null);
        if (body?.method === "initialize" || body?.method === "server/discover") upstream.handshakes++;
        if (body?.method === "tools/call") upstream.toolCallPorts.push(server.requestIP(request)?.port ?? 0);
      }
      return handler.fetch(request);
    },
  });
  upstream.url = `http://127.0.0.1:${server.port}/mcp`;
  upstream.addTool = () => {
    extraTool = true;
    handler.notify.toolsChanged();
  };
  upstream.stop = () => void server.stop(true);
  return upstream;
}
