import { StreamableHTTPClientTransport, type Transport } from "@modelcontextprotocol/client";
import type { McpUpstreamConfig } from "./config.ts";
import type { OwnRequests } from "./own-requests.ts";
import { StdioTransport } from "./stdio-transport.ts";

export interface UpstreamTransport {
  transport: Transport;
  /** The child's process id (stdio), once started. */
  pid(): number | null;
  /** How the child ended (stdio), null while it runs and for HTTP. */
  exit(): string | null;
  /** Requests Gatehouse sends on the pipe itself (stdio); null for HTTP. */
  own: OwnRequests | null;
}

/**
 * The transport to one upstream. stdio: Gatehouse's own (stdio-transport.ts)
 * spawns the command and kills it on close; each line it writes to stderr
 * goes to `onStderr`. HTTP: the configured headers go with every request,
 * over connections fetch keeps alive between them. The URL comes from the
 * admin's config file, not from a user, so it is fetched without an SSRF
 * guard.
 */
export function upstreamTransport(config: McpUpstreamConfig, onStderr: (line: string) => void): UpstreamTransport {
  if (config.kind === "http") {
    const transport = new StreamableHTTPClientTransport(new URL(config.url), {
      requestInit: { headers: config.headers },
    });
    return { transport, pid: () => null, exit: () => null, own: null };
  }
  const transport = new StdioTransport(config, onStderr);
  return { transport, pid: () => transport.pid, exit: () => transport.exit, own: transport.own };
}
