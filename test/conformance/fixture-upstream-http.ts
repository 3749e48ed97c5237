// The conformance fixture as a Streamable HTTP upstream speaking 2026-07-28
// (SDK v2 createMcpHandler on Bun.serve, 127.0.0.1): the tools, resources
// and prompts of fixture-upstream.ts plus the input-required fixtures of
// fixture-input-required.ts, for the suite's 2026-07-28 scenarios through
// Gatehouse. createMcpHandler asks for a server per request, so the tool and
// prompt the trigger tools add live in flags here, and the handler announces
// each change (subscriptions/listen).
import { createMcpHandler } from "@modelcontextprotocol/server";
import { registerInputRequiredFixtures, requestStateCodec } from "./fixture-input-required.ts";
import { conformanceServer, registerDynamic } from "./fixture-upstream.ts";

export interface HttpFixture {
  url: string;
  stop(): void;
}

export function startHttpFixture(): HttpFixture {
  const present = { tools: false, prompts: false };
  const handler = createMcpHandler(() => {
    const server = conformanceServer(
      {
        note: () => {},
        toggle(list) {
          present[list] = !present[list];
          if (list === "tools") handler.notify.toolsChanged();
          else handler.notify.promptsChanged();
        },
      },
      { requestState: { verify: requestStateCodec.verify } },
    );
    registerInputRequiredFixtures(server);
    for (const list of ["tools", "prompts"] as const) if (present[list]) registerDynamic(server, list);
    return server;
  });
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch: (request) => handler.fetch(request),
  });
  return { url: `http://127.0.0.1:${server.port}/mcp`, stop: () => void server.stop(true) };
}
