// A bare JSON-RPC server over stdio whose one tool answers with a malformed
// result (content not a list), which an SDK-built server would never send.
// Run as `bun test/gateway/malformed-stdio-upstream.ts`.
import { createInterface } from "node:readline";

const answers: Record<string, unknown> = {
  initialize: {
    protocolVersion: "2025-06-18",
    capabilities: { tools: {} },
    serverInfo: { name: "malformed-stdio-upstream", version: "1.0.0" },
  },
  "tools/list": {
    tools: [{ name: "malformed", description: "Answers badly.", inputSchema: { type: "object", properties: {} } }],
  },
  "tools/call": { content: "not a list" },
};

for await (const line of createInterface({ input: process.stdin })) {
  const message = JSON.parse(line) as { id?: number; method: string };
  if (message.id === undefined) continue;
  process.stdout.write(
    `${JSON.stringify({ jsonrpc: "2.0", id: message.id, result: answers[message.method] ?? {} })}\n`,
  );
}
