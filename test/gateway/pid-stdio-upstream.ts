// An SDK v2 server over stdio that says which process answered (for
// `instances`). Run as
// `bun test/gateway/pid-stdio-upstream.ts`.
import { fromJsonSchema, McpServer } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";

const noArgs = fromJsonSchema<Record<string, never>>({ type: "object", properties: {} });

serveStdio(() => {
  const server = new McpServer(
    { name: "pid-stdio-upstream", version: "1.0.0" },
    { capabilities: { tools: {}, resources: {} } },
  );
  server.registerTool("pid", { description: "This process's id.", inputSchema: noArgs }, () => ({
    content: [{ type: "text", text: String(process.pid) }],
  }));
  server.registerResource("pid", "pid://self", { description: "This process's id." }, (uri) => ({
    contents: [{ uri: uri.href, text: String(process.pid) }],
  }));
  return server;
});
