import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import pkg from "../../package.json";
import { embeddedTags } from "../../src/db/migrations.ts";
import { startPetsApi, type PetsApi } from "../gateway/openapi/pets-api.ts";
import { Browser, freePort, tempDir } from "../helpers.ts";
import { parseExposition, sampleValue } from "../ops/metrics-fixture.ts";
import { waitFor } from "../support/wait-for.ts";

// The compiled binary, alone in an empty directory, as an operator would run
// it: no source tree, no drizzle/ folder, no GATEHOUSE_DATA_DIR.

setDefaultTimeout(30_000);

const repo = join(import.meta.dir, "../..");
const buildDir = tempDir("gatehouse-bin-");
const binary = join(buildDir, "gatehouse");
const cwd = tempDir("gatehouse-cwd-");
const port = freePort();
const publicUrl = `http://localhost:${port}`;
// Only what a shell would pass; the test runner's own GATEHOUSE_* must not leak in.
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, PORT: String(port) };
const keyPattern = /^gate_key_[a-z2-7]{16}_[a-z2-7]{52}\n$/;

/** A running server, with its stdout collected as parsed JSON log lines. */
class Server {
  text = "";
  errText = "";
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  private readonly drained: Promise<unknown>;
  constructor(extraEnv: Record<string, string> = {}) {
    this.proc = Bun.spawn([binary], {
      cwd,
      env: { ...env, ...extraEnv },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const drain = async (stream: ReadableStream<Uint8Array>, add: (chunk: string) => void) => {
      const reader = stream.getReader();
      const decoder = new TextDecoder();
      for (let r = await reader.read(); !r.done; r = await reader.read())
        add(decoder.decode(r.value, { stream: true }));
    };
    this.drained = Promise.all([
      drain(this.proc.stdout, (c) => (this.text += c)),
      drain(this.proc.stderr, (c) => (this.errText += c)),
    ]);
  }

  logs(): Record<string, unknown>[] {
    return this.text
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
  }

  async waitForLog(msg: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const line = () => this.logs().find((l) => l.msg === msg);
    await waitFor(
      () => line() !== undefined,
      timeoutMs,
      () => `a "${msg}" log line; output so far:\n${this.text}`,
    );
    return line()!;
  }

  /** Polls /readyz until it answers 200; returns how long that took. */
  async waitUntilReady(timeoutMs = 10_000): Promise<number> {
    const start = performance.now();
    const ready = async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200;
    await waitFor(ready, timeoutMs, () => `/readyz to answer 200; output so far:\n${this.text}`);
    return performance.now() - start;
  }

  /** SIGTERM, then the exit code once all output has been read. */
  async terminate(): Promise<number> {
    this.proc.kill("SIGTERM");
    const code = await this.proc.exited;
    await this.drained;
    return code;
  }
}

/** One run of the binary as a CLI command, in the same directory. */
async function gatehouse(args: string[], stdin?: string): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([binary, ...args], {
    cwd,
    env,
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out, err };
}

const servers: Server[] = [];
beforeAll(async () => {
  const build = Bun.spawn([process.execPath, "build", "--compile", "--minify", "src/main.ts", "--outfile", binary], {
    cwd: repo,
    stdout: "pipe",
    stderr: "pipe",
  });
  if ((await build.exited) !== 0) throw new Error(`build failed:\n${await new Response(build.stderr).text()}`);
}, 90_000);

afterAll(() => {
  for (const s of servers) if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
  rmSync(buildDir, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

describe("the compiled binary", () => {
  test("--version prints the version and exits 0", async () => {
    expect(await gatehouse(["--version"])).toEqual({ code: 0, out: `gatehouse ${pkg.version}\n`, err: "" });
  });

  test("a usage error exits 2 and leaves the directory empty", async () => {
    const run = await gatehouse(["frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/^gatehouse: .*frobnicate.*\n$/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  describe("first start", () => {
    let server: Server;
    let setupUrl: string;
    let token: string;

    beforeAll(() => {
      server = new Server();
      servers.push(server);
    });

    test("logs a setup_url with a one-time token", async () => {
      const line = await server.waitForLog("no admin yet: open the setup link to create one");
      setupUrl = String(line.setup_url);
      expect(setupUrl).toMatch(new RegExp(`^${publicUrl}/setup\\?token=[a-z2-7]+$`));
    });

    test("/readyz answers 200 within 10 s", async () => {
      expect(await server.waitUntilReady()).toBeLessThan(10_000);
    });

    test("migrates the new database", () => {
      expect(server.logs().find((l) => l.msg === "migrated")).toMatchObject({ migrations: embeddedTags.join(",") });
    });

    test("the data dir is ./data with mode 0700 and the database 0600", () => {
      expect(statSync(join(cwd, "data")).mode & 0o777).toBe(0o700);
      expect(statSync(join(cwd, "data", "gatehouse.db")).mode & 0o777).toBe(0o600);
    });

    test("the setup URL serves an HTML page", async () => {
      const res = await fetch(setupUrl.replace("localhost", "127.0.0.1"));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("text/html");
      expect(await res.text()).toContain('name="token"');
    });

    test("user add --admin --password-stdin works while the server runs", async () => {
      const run = await gatehouse(
        ["user", "add", "--email", "admin@example.com", "--admin", "--password-stdin"],
        "a long password 123\n",
      );
      expect(run).toEqual({ code: 0, out: "created admin admin@example.com\n", err: "" });
    });

    test("key create prints a key", async () => {
      const run = await gatehouse(["key", "create", "--user", "admin@example.com", "--name", "ci"]);
      expect(run.code).toBe(0);
      expect(run.out).toMatch(keyPattern);
      token = run.out.trim();
    });

    test("the key signs in on the running server", async () => {
      const browser = new Browser(`http://127.0.0.1:${port}`);
      const page = await browser.get("/sign-in");
      const csrf = Browser.csrfOf(await page.text());
      const res = await browser.post("/sign-in/key", { csrf, api_key: token }, { origin: publicUrl });
      expect(res.status).toBe(303);
      const keys = await browser.get("/keys");
      expect(keys.status).toBe(200);
      expect(await keys.text()).toContain("admin@example.com");
    });

    test("the key lists the built-in tools on /mcp (the MCP SDK is in the binary)", async () => {
      const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('"gatehouse__whoami"');
    });

    test("backup writes a copy while the server runs", async () => {
      const run = await gatehouse(["backup", "./copy.db"]);
      expect(run.code).toBe(0);
      const copy = new Database(join(cwd, "copy.db"), { readonly: true });
      try {
        expect(copy.query("SELECT email FROM users").all()).toEqual([{ email: "admin@example.com" }]);
      } finally {
        copy.close();
      }
      expect(statSync(join(cwd, "copy.db")).mode & 0o777).toBe(0o600);
    });

    test("SIGTERM stops it with exit code 0 and a stopped log line", async () => {
      expect(await server.terminate()).toBe(0);
      expect(server.logs().map((l) => l.msg)).toContain("stopped");
    });

    test("wrote nothing to stderr", () => {
      expect(server.errText).toBe("");
    });
  });

  describe("second start", () => {
    let server: Server;

    beforeAll(async () => {
      server = new Server();
      servers.push(server);
      await server.waitUntilReady();
      // Log lines are written in order: once the readyz request's line is out,
      // any setup line would be out too.
      await server.waitForLog("request");
    });

    afterAll(() => server.terminate());

    test("prints no setup_url now that an admin exists", () => {
      expect(server.text).not.toContain("setup_url");
    });

    test("applies no migrations", () => {
      expect(server.logs().map((l) => l.msg)).not.toContain("migrated");
    });

    test("user list still shows the admin", async () => {
      const run = await gatehouse(["user", "list"]);
      expect(run.code).toBe(0);
      expect(run.out).toMatch(/^admin@example\.com\s+admin\s+active\s/m);
    });

    test("nothing but ./data and the backup was written to the directory", () => {
      expect(readdirSync(cwd).sort()).toEqual(["copy.db", "data"]);
      expect(existsSync(join(cwd, "data", "gatehouse.db"))).toBe(true);
    });
  });

  describe("with a REST API upstream (the OpenAPI parser is in the binary) and metrics on", () => {
    const apiToken = "binary-api-token-0123456789";
    const configDir = tempDir("gatehouse-bin-config-");
    let api: PetsApi;
    let server: Server;
    let key: string;

    beforeAll(async () => {
      api = startPetsApi(apiToken);
      const config = join(configDir, "gatehouse.toml");
      await Bun.write(
        config,
        `[[upstream]]\nname = "pets"\nopenapi = "${api.url}/openapi/json"\nheaders = { Authorization = "Bearer \${PETS_TOKEN}" }\n`,
      );
      server = new Server({ GATEHOUSE_CONFIG: config, PETS_TOKEN: apiToken, GATEHOUSE_METRICS: "true" });
      servers.push(server);
      await server.waitForLog("openapi upstream loaded");
    });

    afterAll(async () => {
      await server.terminate();
      api.stop();
      rmSync(configDir, { recursive: true, force: true });
    });

    test("an operation is a tool that calls the API with the configured header", async () => {
      key = (await gatehouse(["key", "create", "--user", "admin@example.com", "--name", "rest"])).out.trim();
      const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2025-06-18",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "pets__getPet", arguments: { id: 7 } },
        }),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('"structuredContent":{"id":7,"name":"Rex","trace":null}');
      expect(api.requests.at(-1)).toMatchObject({ method: "GET", path: "/pets/7" });
      expect(api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${apiToken}`);
    });

    test("/metrics (prom-client is in the binary) counts that call and shows the upstream connected", async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      const samples = parseExposition(await res.text());
      expect(sampleValue(samples, "gatehouse_tool_calls_total", { tool: "pets__getPet", outcome: "ok" })).toBe(1);
      expect(sampleValue(samples, "gatehouse_upstream_state", { upstream: "pets", state: "connected" })).toBe(1);
      expect(sampleValue(samples, "process_resident_memory_bytes")).toBeGreaterThan(0);
    });
  });
});
