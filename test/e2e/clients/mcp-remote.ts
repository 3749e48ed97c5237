import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { tempDir } from "../../helpers.ts";
import { waitFor } from "../../support/wait-for.ts";

// mcp-remote (npm) run as desktop hosts run it: `node …/proxy.js <url> <port>
// [flags]` spawned by the MCP client SDK's stdio transport, the host talking
// MCP over its stdin/stdout. Its state lives in a temp dir
// (MCP_REMOTE_CONFIG_DIR), and its browser launch is caught: it opens the
// authorization URL with the `open` package, whose xdg-open uses $BROWSER
// when there is no display, and falls back to xdg-open, x-www-browser and
// sensible-browser on PATH. All of those are one script here that writes the
// URL to a file, so no desktop browser is ever started.

const proxyEntry = fileURLToPath(new URL("../../../node_modules/mcp-remote/dist/proxy.js", import.meta.url));

/** The opener: records its last argument (gio is called `gio open URL`) and succeeds. */
const opener = (file: string) => `#!/bin/sh\nfor url; do :; done\nprintf '%s\\n' "$url" >> '${file}'\n`;

/** mcp-remote's home on this machine: its config dir and the fake browser, shared by every run against one server. */
export class McpRemoteHome {
  readonly dir = tempDir("gatehouse-mcp-remote-");
  readonly configDir = join(this.dir, "config");
  private readonly binDir = join(this.dir, "bin");
  private readonly openedFile = join(this.dir, "opened.txt");

  constructor() {
    mkdirSync(this.binDir);
    for (const name of ["open-url", "xdg-open", "x-www-browser", "sensible-browser", "www-browser", "gio"]) {
      writeFileSync(join(this.binDir, name), opener(this.openedFile));
      chmodSync(join(this.binDir, name), 0o755);
    }
  }

  /** The environment of the proxy: no DISPLAY (the stdio transport passes only PATH, HOME and a few more). */
  env(): Record<string, string> {
    return {
      PATH: `${this.binDir}:${process.env.PATH}`,
      HOME: this.dir,
      BROWSER: join(this.binDir, "open-url"),
      MCP_REMOTE_CONFIG_DIR: this.configDir,
    };
  }

  /** Every URL the proxy tried to open in a browser, oldest first. */
  opened(): string[] {
    return existsSync(this.openedFile) ? readFileSync(this.openedFile, "utf8").split("\n").filter(Boolean) : [];
  }

  /**
   * The URLs opened, once there are `count`: the opener runs detached from
   * the proxy, which may log "Browser opened" before the script has written.
   */
  async waitForOpened(count: number): Promise<string[]> {
    await waitFor(
      () => this.opened().length >= count,
      10_000,
      () => `${count} opened URLs, have ${JSON.stringify(this.opened())}`,
    );
    return this.opened();
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One run of the proxy, with a host's MCP client on its stdio. */
export class McpRemote {
  readonly transport: StdioClientTransport;
  readonly client = new Client({ name: "desktop-host", version: "1.0.0" }, { versionNegotiation: { mode: "legacy" } });
  /** What the proxy wrote to stderr so far: its log. */
  stderr = "";
  private ended = false;
  private listeners: (() => void)[] = [];

  /** `env` adds to the home's environment (the variables a host's config gives the proxy). */
  constructor(home: McpRemoteHome, args: string[], env: Record<string, string> = {}) {
    this.transport = new StdioClientTransport({
      command: "node",
      args: [proxyEntry, ...args],
      env: { ...home.env(), ...env },
      stderr: "pipe",
    });
    this.transport.stderr!.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
      for (const listener of this.listeners) listener();
    });
    this.transport.stderr!.on("end", () => {
      this.ended = true;
      for (const listener of this.listeners) listener();
    });
  }

  /** The host's initialize through the proxy; resolves once the proxy has reached the server. */
  connect(): Promise<void> {
    return this.client.connect(this.transport);
  }

  /** The first match of `pattern` in the proxy's log, once it has written it; rejects if it exits first. */
  waitForLog(pattern: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.stderr.match(pattern);
        if (match || this.ended) this.listeners = this.listeners.filter((l) => l !== check);
        if (match) resolve(match);
        else if (this.ended) reject(new Error(`mcp-remote exited without logging ${pattern}:\n${this.stderr}`));
      };
      this.listeners.push(check);
      check();
    });
  }

  /** The authorization URL the proxy printed for the person (it prints it as well as opening it). */
  async authorizationUrl(): Promise<URL> {
    const [, url] = await this.waitForLog(/Please authorize this client by visiting:\n(\S+)/);
    return new URL(url!);
  }

  /** Closes the host's side; the proxy exits when its stdin ends. */
  close(): Promise<void> {
    return this.client.close();
  }
}
