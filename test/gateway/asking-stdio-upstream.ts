// An SDK v2 server over stdio that asks the 2026-07-28 way: Gatehouse talks
// MCP 2025 to stdio upstreams, so the SDK's legacy shim turns each round
// into real server-to-client requests, sent together. Run as
// `bun test/gateway/asking-stdio-upstream.ts`.
import { acceptedContent, fromJsonSchema, inputRequired, inputResponse, McpServer } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";

const noArgs = fromJsonSchema<Record<string, never>>({ type: "object", properties: {} });

serveStdio(() => {
  const server = new McpServer({ name: "asking-stdio-upstream", version: "1.0.0" }, { capabilities: { tools: {} } });
  // Asks two things in one round: who, and which roots.
  server.registerTool(
    "two_questions",
    { description: "Asks who and where.", inputSchema: noArgs },
    async (_args, ctx) => {
      const who = acceptedContent<{ name: string }>(ctx.mcpReq.inputResponses, "who");
      const where = inputResponse(ctx.mcpReq.inputResponses, "where");
      if (!who || where.kind !== "roots") {
        return inputRequired({
          inputRequests: {
            who: inputRequired.elicit({
              message: "Who?",
              requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
            }),
            where: inputRequired.listRoots(),
          },
        });
      }
      return { content: [{ type: "text", text: `${who.name} at ${where.roots.map((r) => r.uri).join(", ")}` }] };
    },
  );
  return server;
});
