// /mcp throughput on the compiled binary, each number beside /healthz (the
// ceiling) measured in the same run against the same process:
//
//   bun bench/mcp.ts [--binary path/to/gatehouse] [--concurrency 32] [--seconds 5] [--requests 20000] [--driver wrk|fetch]
//
// Without --binary it builds one. The server runs in a fresh temp dir on
// loopback only, with a rate limit no phase can reach. An API key comes from
// the binary's own CLI; an OAuth access token from a DCR registration, an
// approval written straight into the server's SQLite file (WAL lets the bench
// write beside the running server) and the real /oauth/token exchange.
//
// Load comes from wrk (-t1, like the figures in bench/README.md) when it is on
// PATH, for a fixed number of seconds a phase; otherwise from fetch in this
// process with a fixed number of workers, for a fixed number of requests (and
// a deadline). The driver is printed: fetch numbers are lower, because the
// bench and the server then share the CPU through one JS thread each.
// Target (issue): tools/call at least 40% of the /healthz rate.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import { findUserByEmail } from "../src/accounts/users-store.ts";
import { openDatabase } from "../src/db/client.ts";
import { approveAuthorization } from "../src/oauth/authorizations.ts";
import { mcpResourceUrl } from "../src/oauth/resource.ts";

const { values: args } = parseArgs({
  options: {
    binary: { type: "string" },
    concurrency: { type: "string", default: "32" },
    seconds: { type: "string", default: "5" },
    requests: { type: "string", default: "20000" },
    driver: { type: "string" },
  },
});
const concurrency = Number(args.concurrency);
const seconds = Number(args.seconds);
const requests = Number(args.requests);
const phaseDeadlineMs = 60_000;
const readyTimeoutMs = 10_000;
const warmRequests = 2000;
const target = 0.4;
// RFC 7636 Appendix B.
const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const redirectUri = "https://bench.example/callback";
const email = "bench@example.com";
const now = () => Math.floor(Date.now() / 1000);

/** One load phase: where, and the exact request. */
interface Phase {
  name: string;
  path: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
}

interface Driver {
  name: string;
  /** Requests per second; throws if any answer was not 2xx. */
  run(base: string, phase: Phase): Promise<number>;
}

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

async function build(dir: string): Promise<string> {
  const outfile = join(dir, "gatehouse");
  const proc = Bun.spawn([process.execPath, "build", "--compile", "--minify", "src/main.ts", "--outfile", outfile], {
    cwd: resolve(import.meta.dir, ".."),
    stdout: "ignore",
    stderr: "pipe",
  });
  if ((await proc.exited) !== 0) throw new Error(`build failed:\n${await new Response(proc.stderr).text()}`);
  return outfile;
}

/** Runs a CLI subcommand of the binary against the bench's data dir; its stdout. */
async function cli(binary: string, env: Record<string, string>, argv: string[]): Promise<string> {
  const proc = Bun.spawn([binary, ...argv], { env, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`gatehouse ${argv.join(" ")}: exit ${code}: ${err}`);
  return out.trim();
}

async function waitReady(proc: Subprocess, base: string): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < readyTimeoutMs) {
    const res = await fetch(`${base}/readyz`).catch(() => null);
    if (res?.status === 200) return;
    if (proc.exitCode !== null) break;
    await Bun.sleep(20);
  }
  throw new Error(`the server did not answer /readyz within ${readyTimeoutMs} ms`);
}

/** An access token for a DCR client, approved in the database and exchanged over HTTP. */
async function oauthToken(base: string, dataDir: string): Promise<string> {
  const reg = await fetch(`${base}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "Bench", redirect_uris: [redirectUri], token_endpoint_auth_method: "none" }),
  });
  if (reg.status !== 201) throw new Error(`registration: ${reg.status} ${await reg.text()}`);
  const clientId = ((await reg.json()) as { client_id: string }).client_id;
  const db = openDatabase(dataDir);
  let code: string;
  try {
    const user = findUserByEmail(db, email);
    if (!user) throw new Error(`no user ${email}`);
    code = approveAuthorization(db, {
      userId: user.id,
      clientId,
      apiKeyId: null,
      scope: "mcp:read mcp:write",
      resource: mcpResourceUrl(base),
      redirectUri,
      codeChallenge: challenge,
      now: now(),
      codeTtlSeconds: 600,
    }).code;
  } finally {
    db.$client.close();
  }
  const res = await fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: clientId,
    }),
  });
  if (res.status !== 200) throw new Error(`token exchange: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** tools/call gatehouse__whoami as a stateless 2026-07-28 request, or as a bare 2025-06-18 one. */
function whoami(name: string, token: string, era: "2026-07-28" | "2025-06-18"): Phase {
  const meta = {
    "io.modelcontextprotocol/protocolVersion": era,
    "io.modelcontextprotocol/clientInfo": { name: "gatehouse-bench", version: "1.0.0" },
    "io.modelcontextprotocol/clientCapabilities": {},
  };
  const params = { name: "gatehouse__whoami", arguments: {}, ...(era === "2026-07-28" && { _meta: meta }) };
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    authorization: `Bearer ${token}`,
    "mcp-protocol-version": era,
    ...(era === "2026-07-28" && { "mcp-method": "tools/call", "mcp-name": "gatehouse__whoami" }),
  };
  return {
    name,
    path: "/mcp",
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params }),
  };
}

/** One request of the phase, checked: 200 and, for /mcp, a result that is not an error. */
async function check(base: string, phase: Phase): Promise<void> {
  const res = await fetch(base + phase.path, { method: phase.method, headers: phase.headers, body: phase.body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${phase.name}: ${res.status} ${text}`);
  if (phase.path === "/mcp") {
    const message = JSON.parse(
      text.startsWith("{")
        ? text
        : text
            .split("\n")
            .find((l) => l.startsWith("data:"))!
            .slice(5),
    );
    if (!message.result || message.result.isError) throw new Error(`${phase.name}: ${text}`);
  }
}

/** `n` requests of the phase from `concurrency` fetch workers (or until the deadline); requests per second. */
async function fetchLoad(base: string, phase: Phase, n: number): Promise<number> {
  let next = 0;
  let done = 0;
  const deadline = performance.now() + phaseDeadlineMs;
  const start = performance.now();
  const init = { method: phase.method, headers: phase.headers, body: phase.body };
  const worker = async () => {
    while (next < n && performance.now() < deadline) {
      next++;
      const res = await fetch(base + phase.path, init);
      if (res.status !== 200) throw new Error(`${phase.name}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - start) / 1000);
}

const fetchDriver: Driver = {
  name: `fetch in the bench process, ${concurrency} workers, ${requests} requests a phase`,
  run: (base, phase) => fetchLoad(base, phase, requests),
};

function wrkDriver(wrk: string, scratch: string): Driver {
  return {
    name: `wrk -t1 -c${concurrency} -d${seconds}s`,
    async run(base, phase) {
      const lua = join(scratch, "phase.lua");
      const lines = [
        `wrk.method = "${phase.method}"`,
        ...Object.entries(phase.headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
      ];
      if (phase.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(phase.body)}`);
      writeFileSync(lua, `${lines.join("\n")}\n`);
      const proc = Bun.spawn([wrk, "-t1", `-c${concurrency}`, `-d${seconds}s`, "-s", lua, base + phase.path], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      if (code !== 0) throw new Error(`wrk: exit ${code}: ${await new Response(proc.stderr).text()}`);
      const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out) ?? /Socket errors: .*/.exec(out);
      if (bad) throw new Error(`${phase.name}: ${bad[0]}`);
      const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (!rate) throw new Error(`wrk printed no rate:\n${out}`);
      return Number(rate[1]);
    },
  };
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "gatehouse-bench-mcp-"));
  const dataDir = join(scratch, "data");
  let server: Subprocess | null = null;
  try {
    const binary = args.binary ? resolve(args.binary) : await build(scratch);
    const wrk = Bun.which("wrk");
    if (args.driver === "wrk" && !wrk) throw new Error("--driver wrk: wrk is not on PATH");
    const driver = wrk && args.driver !== "fetch" ? wrkDriver(wrk, scratch) : fetchDriver;

    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      GATEHOUSE_HOST: "127.0.0.1",
      GATEHOUSE_PUBLIC_URL: base,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_RATE_LIMIT_PER_MINUTE: "1000000",
    };
    server = Bun.spawn([binary, "serve"], { env, stdout: "ignore", stderr: "ignore" });
    await waitReady(server, base);
    await cli(binary, env, ["user", "add", "--email", email]);
    const apiKey = await cli(binary, env, ["key", "create", "--user", email, "--name", "bench"]);
    const accessToken = await oauthToken(base, dataDir);

    const healthz: Phase = { name: "/healthz", path: "/healthz", method: "GET", headers: {} };
    const phases = [
      whoami("tools/call whoami (API key)", apiKey, "2026-07-28"),
      whoami("tools/call whoami (OAuth token)", accessToken, "2026-07-28"),
      whoami("tools/call whoami (API key, 2025-06-18)", apiKey, "2025-06-18"),
    ];
    for (const phase of [healthz, ...phases]) await check(base, phase);

    // Warm every path first so no number pays for first-request compilation.
    for (const phase of [healthz, ...phases]) await fetchLoad(base, phase, warmRequests);

    // The ceiling before and after the /mcp phases: drift shows as a gap between the two.
    const ceilingBefore = await driver.run(base, healthz);
    const rates = [];
    for (const phase of phases) rates.push(await driver.run(base, phase));
    const ceilingAfter = await driver.run(base, healthz);
    const ceiling = (ceilingBefore + ceilingAfter) / 2;

    console.log(`binary: ${binary}${args.binary ? "" : " (built for this run)"}`);
    console.log(`driver: ${driver.name}${wrk ? "" : " (wrk not found)"}`);
    console.log(
      `/healthz: ${ceilingBefore.toFixed(0)}/s before, ${ceilingAfter.toFixed(0)}/s after; ceiling = their mean`,
    );
    for (const [i, phase] of phases.entries()) {
      const rate = rates[i]!;
      const ratio = rate / ceiling;
      console.log(
        `${phase.name}: ${rate.toFixed(0)}/s = ${ratio.toFixed(2)} of /healthz (${ceiling.toFixed(0)}/s)${ratio >= target ? "" : `, below the ${target} target`}`,
      );
    }
  } finally {
    if (server) {
      server.kill("SIGTERM");
      await server.exited;
    }
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
