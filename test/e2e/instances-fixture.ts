import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { loadConfig } from "../../src/config.ts";
import { openStore } from "../../src/db/open.ts";
import { closeStore } from "../../src/db/operations.ts";
import type { Store } from "../../src/db/store.ts";
import { freePort, tempDir } from "../helpers.ts";
import { freshTestDatabase } from "../support/store.ts";
import { waitFor } from "../support/wait-for.ts";

// Several real server processes on one PostgreSQL database behind one origin
// (issue 16): what a team runs behind a load balancer. Each instance is
// `bun src/main.ts serve` with a data directory of its own; all of them are
// told the same public URL, that of a small proxy in the test process, which
// forwards each request, Host header and all, to the instance the test
// chose: `cluster.route("a")`, or `"both"` to alternate. Its answers say
// which instance gave them (`x-served-by`).

const mainScript = join(import.meta.dir, "../../src/main.ts");

type InstanceName = "a" | "b";

/** One server process, its output collected. */
class Instance {
  output = "";
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  private readonly drained: Promise<unknown>;

  constructor(
    readonly name: InstanceName,
    readonly port: number,
    readonly dataDir: string,
    env: Record<string, string>,
  ) {
    this.proc = Bun.spawn([process.execPath, mainScript, "serve"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dataDir,
        GATEHOUSE_DATA_DIR: dataDir,
        GATEHOUSE_HOST: "127.0.0.1",
        PORT: String(port),
        ...env,
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      const reader = stream.getReader();
      const decoder = new TextDecoder();
      for (let r = await reader.read(); !r.done; r = await reader.read())
        this.output += decoder.decode(r.value, { stream: true });
    };
    this.drained = Promise.all([drain(this.proc.stdout), drain(this.proc.stderr)]);
  }

  /** Its JSON log lines so far. */
  logs(): Record<string, unknown>[] {
    return this.output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line));
  }

  /** The first log line with this message, waited for. */
  async logLine(msg: string): Promise<Record<string, unknown>> {
    const line = () => this.logs().find((l) => l.msg === msg);
    await waitFor(
      () => line() !== undefined,
      15_000,
      () => `a "${msg}" log line from ${this.name}`,
    );
    return line()!;
  }

  /** /readyz on the instance's own port, or null when nothing answers. */
  async readyz(): Promise<number | null> {
    return (await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => null))?.status ?? null;
  }

  async waitUntilReady(): Promise<void> {
    await waitFor(
      async () => (await this.readyz()) === 200,
      30_000,
      () => `/readyz on ${this.name} to answer 200`,
    );
  }

  /** SIGKILL: no shutdown, no flush, as when the machine goes away. */
  async kill(): Promise<void> {
    this.proc.kill("SIGKILL");
    await this.proc.exited;
    await this.drained;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGTERM");
    await this.proc.exited;
    await this.drained;
  }
}

export interface Cluster {
  /** The one origin every instance is told is its own (GATEHOUSE_PUBLIC_URL). */
  url: string;
  a: Instance;
  b: Instance;
  /** The test's own connection to the shared database. */
  db: Store;
  /** Where the proxy sends the requests from now on. */
  route(to: InstanceName | "both"): void;
  close(): Promise<void>;
}

/**
 * Starts instances a and b at once on a fresh database (an empty one with
 * `emptyDatabase`: both migrate at start, under the advisory lock) and waits
 * until both answer /readyz. `env` goes to both.
 */
async function startCluster(opts: { emptyDatabase?: boolean; env?: Record<string, string> } = {}): Promise<Cluster> {
  const database = await freshTestDatabase({ migrated: !opts.emptyDatabase });
  let target: InstanceName | "both" = "both";
  let turn = 0;
  const instances: Partial<Record<InstanceName, Instance>> = {};
  const proxy = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const name: InstanceName = target === "both" ? (turn++ % 2 === 0 ? "a" : "b") : target;
      const url = new URL(request.url);
      try {
        const res = await fetch(`http://127.0.0.1:${instances[name]!.port}${url.pathname}${url.search}`, {
          method: request.method,
          headers: request.headers,
          body: request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer(),
          redirect: "manual",
          decompress: false,
        });
        const headers = new Headers(res.headers);
        headers.set("x-served-by", name);
        return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
      } catch (error) {
        return new Response(`instance ${name} did not answer: ${String(error)}`, { status: 502 });
      }
    },
  });
  const url = `http://127.0.0.1:${proxy.port}`;
  const env = { GATEHOUSE_PUBLIC_URL: url, ...database.env, ...opts.env };
  const a = new Instance("a", freePort(), tempDir("gatehouse-a-"), env);
  const b = new Instance("b", freePort(), tempDir("gatehouse-b-"), env);
  instances.a = a;
  instances.b = b;
  const ownDir = tempDir("gatehouse-test-");
  let db: Store | null = null;
  const close = async () => {
    await Promise.all([a.stop(), b.stop()]);
    proxy.stop(true);
    if (db) await closeStore(db);
    await database.drop();
    for (const dir of [a.dataDir, b.dataDir, ownDir]) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all([a.waitUntilReady(), b.waitUntilReady()]);
  } catch (error) {
    await close();
    throw withOutput(error, [a, b]);
  }
  db = openStore(loadConfig({ GATEHOUSE_DATA_DIR: ownDir, ...database.env }));
  return {
    url,
    a,
    b,
    db,
    route: (to) => {
      target = to;
    },
    close,
  };
}

/** Runs a test body on a fresh cluster; on a failure the error carries both instances' output. */
export async function withCluster(
  opts: Parameters<typeof startCluster>[0],
  body: (cluster: Cluster) => Promise<void>,
): Promise<void> {
  const cluster = await startCluster(opts);
  try {
    await body(cluster);
  } catch (error) {
    throw withOutput(error, [cluster.a, cluster.b]);
  } finally {
    await cluster.close();
  }
}

function withOutput(error: unknown, instances: Instance[]): unknown {
  if (!(error instanceof Error)) return error;
  const outputs = instances.map((i) => `--- instance ${i.name} (port ${i.port}) ---\n${i.output.slice(-20_000)}`);
  error.message += `\n\n${outputs.join("\n")}`;
  return error;
}
