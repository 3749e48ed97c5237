// A real upstream MCP server whose tools/list offers whatever names a test
// gives it, good or bad (McpServer.registerTool warns on names outside MCP's
// rule, so this one is the SDK's low-level Server): SDK v2 behind
// createMcpHandler on Bun.serve (127.0.0.1). Every tool is a write tool
// (no readOnlyHint), so the good ones show on the keys and consent pages.
import { createMcpHandler, Server } from "@modelcontextprotocol/server";

export interface NamedToolsUpstream {
  url: string;
  /** The names of the tools/call requests it got, in order. */
  calls: string[];
  /** Offers `names` from now on and says so (notifications/tools/list_changed). */
  offer(names: string[]): void;
  stop(): void;
}

export function startNamedToolsUpstream(names: string[]): NamedToolsUpstream {
  let offered = names;
  const calls: string[] = [];
  const factory = () => {
    const server = new Server(
      { name: "named-tools-upstream", version: "1.0.0" },
      { capabilities: { tools: { listChanged: true } } },
    );
    server.setRequestHandler("tools/list", () => ({
      tools: offered.map((name) => ({
        name,
        description: "Writes something.",
        inputSchema: { type: "object" as const, properties: {} },
      })),
    }));
    server.setRequestHandler("tools/call", (request) => {
      calls.push(request.params.name);
      return { content: [{ type: "text" as const, text: `ran ${request.params.name}` }] };
    });
    return server;
  };
  const handler = createMcpHandler(factory);
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch: (request) => handler.fetch(request),
  });
  return {
    url: `http://127.0.0.1:${server.port}/mcp`,
    calls,
    offer(next) {
      offered = next;
      handler.notify.toolsChanged();
    },
    stop: () => void server.stop(true),
  };
}
