import type { JSONRPCMessage, Transport } from "@modelcontextprotocol/client";
import { getDefaultEnvironment } from "@modelcontextprotocol/client/stdio";
import type { Subprocess } from "bun";
import { LineSplitter } from "./line-splitter.ts";
import { OwnRequests } from "./own-requests.ts";

// The stdio transport to an upstream MCP server (MCP 2025-06-18
// basic/transports#stdio: newline-delimited JSON-RPC on the child's stdin
// and stdout), over Bun.spawn. Every call to the upstream shares this one
// pipe: messages sent in the same turn of the event loop go out in one
// write, and each line read is parsed once and handed to the SDK Client,
// which matches responses to requests by id and classifies what it gets
// (an unknown shape reaches its onerror).

export interface StdioCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string | null;
}

// As the SDK's transport: a line longer than this (no newline in 10 MB) ends the connection.
const maxLineChars = 10 * 1024 * 1024;
// Closing: stdin closed first (a well-behaved server exits), then SIGTERM, then SIGKILL.
const closeGraceMs = 2000;

type Child = Subprocess<"pipe", "pipe", "pipe">;

export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  /** Requests of Gatehouse's own on this pipe, answered before the SDK Client sees anything (own-requests.ts). */
  readonly own = new OwnRequests((message) => this.send(message));
  private child: Child | null = null;
  private queued: string[] = [];
  private flushing: ReturnType<typeof setImmediate> | null = null;
  private exitReason: string | null = null;

  constructor(
    private readonly spec: StdioCommand,
    private readonly onStderr: (line: string) => void,
  ) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** How the child ended (exit code or signal), null while it runs. */
  get exit(): string | null {
    return this.exitReason;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error("StdioTransport already started");
    const { command, args, env, cwd } = this.spec;
    // Throws when the command cannot be started (not found, not executable): connect fails with that.
    const child = Bun.spawn([command, ...args], {
      env: { ...getDefaultEnvironment(), ...env },
      ...(cwd !== null && { cwd }),
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.child = child;
    const stdout = this.readMessages(child);
    void this.readStderr(child);
    // Closed once the child is gone and everything it wrote before is read (a last answer included).
    void Promise.all([child.exited, stdout]).then(() => {
      const { exitCode, signalCode } = child;
      this.exitReason = signalCode
        ? `the process was ended by ${signalCode}`
        : `the process exited with code ${exitCode}`;
      if (this.child === child) this.child = null;
      this.own.closed();
      this.onclose?.();
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (!this.child) return Promise.reject(new Error("Not connected"));
    this.queued.push(JSON.stringify(message));
    this.flushing ??= setImmediate(() => this.flush());
    return Promise.resolve();
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.flush();
    try {
      child.stdin.end();
    } catch {
      // Its end of the pipe is gone already.
    }
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      if (await exitsWithin(child, closeGraceMs)) return;
      child.kill(signal);
    }
    await child.exited;
  }

  /** One write for every message queued in this turn; a failed write is the child going away, which onclose reports. */
  private flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = null;
    const child = this.child;
    if (!child || this.queued.length === 0) return;
    const text = `${this.queued.join("\n")}\n`;
    this.queued = [];
    try {
      // A pipe's FileSink writes at once, and drains what the pipe could not take when it can:
      // flush() would only add a second system call per turn (~20 µs under load, bun --cpu-prof).
      child.stdin.write(text);
    } catch (error) {
      this.onerror?.(asError(error));
    }
  }

  private async readMessages(child: Child): Promise<void> {
    const lines = new LineSplitter(maxLineChars);
    try {
      await readText(child.stdout, (text) => {
        for (const line of lines.push(text)) this.deliver(line);
      });
    } catch (error) {
      this.onerror?.(asError(error));
      child.kill("SIGKILL");
    }
  }

  private deliver(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      // Not JSON-RPC (a server printing to stdout by mistake): skipped, as the SDK's own transport does.
      return;
    }
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      this.onerror?.(new Error(`not a JSON-RPC message: ${line.slice(0, 200)}`));
      return;
    }
    if (this.own.settle(message as Record<string, unknown>)) return;
    this.onmessage?.(message as JSONRPCMessage);
  }

  private async readStderr(child: Child): Promise<void> {
    // A runaway line without a newline is cut rather than buffered forever.
    const lines = new LineSplitter(8192, true);
    try {
      await readText(child.stderr, (text) => {
        for (const line of lines.push(text)) this.stderrLine(line);
      });
    } catch {
      // The pipe broke with the child: what was read is forwarded.
    }
    this.stderrLine(lines.rest());
  }

  private stderrLine(line: string): void {
    const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (trimmed.trim() !== "") this.onStderr(trimmed);
  }
}

/** Reads a pipe to its end as UTF-8 text, chunk by chunk (a character split across chunks is kept whole). */
async function readText(stream: ReadableStream<Uint8Array>, onText: (text: string) => void): Promise<void> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onText(decoder.decode(value, { stream: true }));
  }
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

async function exitsWithin(child: Child, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const exited = await Promise.race([child.exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return exited;
}
