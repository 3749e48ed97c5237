import { StreamableHTTPClientTransport, type Transport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import type { Readable } from "node:stream";
import type { McpUpstreamConfig } from "./config.ts";

export interface UpstreamTransport {
  transport: Transport;
  /** The child's process id (stdio), once started. */
  pid(): number | null;
}

/**
 * The transport to one upstream. stdio: the SDK spawns the command and kills
 * it on close; each line it writes to stderr goes to `onStderr`. HTTP: the
 * configured headers go with every request. The URL comes from the admin's
 * config file, not from a user, so it is fetched without an SSRF guard.
 */
export function upstreamTransport(config: McpUpstreamConfig, onStderr: (line: string) => void): UpstreamTransport {
  if (config.kind === "http") {
    const transport = new StreamableHTTPClientTransport(new URL(config.url), {
      requestInit: { headers: config.headers },
    });
    return { transport, pid: () => null };
  }
  const transport = new StdioClientTransport({
    command: config.command,
    args: config.args,
    env: config.env,
    ...(config.cwd !== null && { cwd: config.cwd }),
    stderr: "pipe",
  });
  forwardLines(transport.stderr as Readable | null, onStderr);
  return { transport, pid: () => transport.pid };
}

function forwardLines(stream: Readable | null, onLine: (line: string) => void) {
  if (!stream) return;
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split(/\r?\n/);
    pending = lines.pop()!;
    for (const line of lines) if (line.trim() !== "") onLine(line);
    // A runaway line without a newline is cut rather than buffered forever.
    if (pending.length > 8192) {
      onLine(pending);
      pending = "";
    }
  });
  stream.on("end", () => {
    if (pending.trim() !== "") onLine(pending);
    pending = "";
  });
}
