// What the benches that start the compiled binary share: a free port, the
// build, the binary's CLI, waiting for readiness, one load phase (its request,
// a checked sample, fetch or wrk driving it) and a process's memory.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { findUserByEmail } from "../src/accounts/users-store.ts";
import { loadConfig } from "../src/config.ts";
import { openStore } from "../src/db/open.ts";
import { closeStore } from "../src/db/operations.ts";
import { approveAuthorization } from "../src/oauth/authorizations.ts";
import { mcpResourceUrl } from "../src/oauth/resource.ts";

const readyTimeoutMs = 10_000;
const wrkTimeoutMs = 120_000;
const requestTimeoutMs = 10_000;
const phaseDeadlineMs = 60_000;

/** One load phase: where, and the exact request. */
export interface Phase {
  name: string;
  path: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  /**
   * A JSON-RPC body (`{"jsonrpc":"2.0","id":1,...`) sent with a new id per
   * request: a session routes answers by id, so concurrent equal ids collide.
   */
  distinctIds?: boolean;
  /** The status every answer must have, when it is not 200 (a refusal measured on purpose). */
  status?: number;
  /**
   * Lua for wrk that defines `request()` (and `response()`) itself, for
   * requests that each differ (single-use codes, rotating refresh tokens);
   * the fetch driver cannot run it.
   */
  script?: string;
}

const idPrefix = '{"jsonrpc":"2.0","id":';

/** The phase's body for request number `n`. */
function bodyOf(phase: Phase, n: number): string | undefined {
  if (!phase.distinctIds || phase.body === undefined) return phase.body;
  if (!phase.body.startsWith(`${idPrefix}1,`))
    throw new Error(`${phase.name}: distinctIds needs a body starting ${idPrefix}1,`);
  return `${idPrefix}${n}${phase.body.slice(idPrefix.length + 1)}`;
}

export function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/** Compiles src/main.ts into `dir`; the binary's path. */
export async function build(dir: string): Promise<string> {
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
export async function cli(binary: string, env: Record<string, string>, argv: string[]): Promise<string> {
  const proc = Bun.spawn([binary, ...argv], { env, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`gatehouse ${argv.join(" ")}: exit ${code}: ${err}`);
  return out.trim();
}

/** Polls `url` until it answers 200; throws when `proc` exits or after readyTimeoutMs. */
export async function waitReady(proc: Subprocess, url: string): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < readyTimeoutMs) {
    const res = await fetch(url).catch(() => null);
    if (res?.status === 200) return;
    if (proc.exitCode !== null) break;
    await Bun.sleep(20);
  }
  throw new Error(`${url} did not answer 200 within ${readyTimeoutMs} ms`);
}

/** The JSON-RPC response of an /mcp answer, plain JSON or the SSE data line that is not a notification. */
export function mcpMessage(text: string): { result?: { isError?: boolean }; error?: unknown } {
  if (text.startsWith("{")) return JSON.parse(text);
  const messages = text
    .split("\n")
    .filter((l) => l.startsWith("data:"))
    .map((l) => JSON.parse(l.slice(5)));
  const response = messages.find((m) => "id" in m);
  if (!response) throw new Error(`no JSON-RPC response in ${text}`);
  return response;
}

// RFC 7636 Appendix B.
const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const redirectUri = "https://bench.example/callback";
export const email = "bench@example.com";

/**
 * The environment every bench starts Gatehouse with: loopback only, on `port`,
 * its data in `dataDir`, a rate limit no phase reaches; `more` adds to it.
 */
export function serverEnv(port: number, dataDir: string, more: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    PORT: String(port),
    GATEHOUSE_HOST: "127.0.0.1",
    GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_RATE_LIMIT_PER_MINUTE: "1000000",
    // On PostgreSQL when the bench is run with GATEHOUSE_DATABASE_URL naming an empty database,
    // with the LISTEN feed when GATEHOUSE_DATABASE_LISTEN=true, counting rate limits in Redis when
    // GATEHOUSE_REDIS_URL names one.
    ...Object.fromEntries(
      [
        "GATEHOUSE_DATABASE_URL",
        "GATEHOUSE_DATABASE_POOL_SIZE",
        "GATEHOUSE_DATABASE_LISTEN",
        "GATEHOUSE_REDIS_URL",
      ].flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])),
    ),
    ...more,
  };
}
const now = () => Math.floor(Date.now() / 1000);

/** A public client registered over HTTP (RFC 7591), for `redirectUri`; its client_id. */
export async function registerPublicClient(base: string): Promise<string> {
  const reg = await fetch(`${base}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "Bench", redirect_uris: [redirectUri], token_endpoint_auth_method: "none" }),
  });
  if (reg.status !== 201) throw new Error(`registration: ${reg.status} ${await reg.text()}`);
  return ((await reg.json()) as { client_id: string }).client_id;
}

/**
 * `count` authorization codes for `clientId`, each of its own approval by
 * the bench user, written straight into the server's database (on SQLite
 * WAL lets the bench write beside the running server): the
 * consent page's own function, without a browser per code.
 */
export async function mintCodes(base: string, dataDir: string, clientId: string, count: number): Promise<string[]> {
  // The store the server uses: its SQLite file, or the PostgreSQL database the bench was given.
  const db = openStore(
    loadConfig({ GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_DATABASE_URL: process.env.GATEHOUSE_DATABASE_URL }),
  );
  try {
    const user = await findUserByEmail(db, email);
    if (!user) throw new Error(`no user ${email}`);
    const approve = () =>
      approveAuthorization(db, {
        userId: user.id,
        clientId,
        apiKeyId: null,
        scope: "mcp:read mcp:write",
        resource: mcpResourceUrl(base),
        redirectUri,
        codeChallenge: challenge,
        now: now(),
        codeTtlSeconds: 600,
      });
    const approvals = await Promise.all(Array.from({ length: count }, approve));
    return approvals.map((approval) => approval!.code);
  } finally {
    await closeStore(db);
  }
}

/** The form body of a public client's code exchange; the code comes last, so `code` "" gives the prefix for any code. */
export function codeExchangeBody(clientId: string, code: string): string {
  return new URLSearchParams({
    grant_type: "authorization_code",
    redirect_uri: redirectUri,
    code_verifier: verifier,
    client_id: clientId,
    code,
  }).toString();
}

/** An access token for a DCR client, approved in the database and exchanged over HTTP. */
export async function oauthToken(base: string, dataDir: string): Promise<string> {
  const clientId = await registerPublicClient(base);
  const [code] = await mintCodes(base, dataDir, clientId, 1);
  const res = await fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: codeExchangeBody(clientId, code!),
  });
  if (res.status !== 200) throw new Error(`token exchange: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** tools/call gatehouse__whoami as a stateless 2026-07-28 request, or as a bare 2025-06-18 one. */
export function whoami(name: string, token: string, era: "2026-07-28" | "2025-06-18"): Phase {
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

/** One request of the phase, checked: 200 and, for a JSON-RPC body, a result that is not an error. */
export async function check(base: string, phase: Phase): Promise<void> {
  const res = await fetch(base + phase.path, {
    method: phase.method,
    headers: phase.headers,
    body: phase.body,
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  const text = await res.text();
  if (res.status !== (phase.status ?? 200)) throw new Error(`${phase.name}: ${res.status} ${text}`);
  if (phase.status === undefined && phase.body !== undefined) {
    const message = mcpMessage(text);
    if (!message.result || message.result.isError) throw new Error(`${phase.name}: ${text}`);
  }
}

/** `n` requests of the phase from `concurrency` fetch workers (or until the deadline); requests per second. */
export async function fetchLoad(base: string, phase: Phase, n: number, concurrency: number): Promise<number> {
  let next = 0;
  let done = 0;
  const deadline = performance.now() + phaseDeadlineMs;
  const start = performance.now();
  const worker = async () => {
    while (next < n && performance.now() < deadline) {
      next++;
      const res = await fetch(base + phase.path, {
        method: phase.method,
        headers: phase.headers,
        body: bodyOf(phase, next),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      if (res.status !== (phase.status ?? 200)) throw new Error(`${phase.name}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - start) / 1000);
}

export interface WrkResult {
  ratePerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const unitMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function percentileMs(out: string, percent: string): number {
  const match = new RegExp(`^\\s*${percent}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
  if (!match) throw new Error(`wrk printed no ${percent}% latency:\n${out}`);
  return Number(match[1]) * unitMs[match[2]!]!;
}

/**
 * The phase under `wrk -t1 --latency` for `seconds` with `concurrency`
 * connections (its Lua script written into `scratch`); throws if any answer
 * was not 2xx or a socket failed.
 */
export async function runWrk(
  wrk: string,
  scratch: string,
  base: string,
  phase: Phase,
  load: { concurrency: number; seconds: number },
): Promise<WrkResult> {
  const lua = join(scratch, "phase.lua");
  const lines = [
    `wrk.method = "${phase.method}"`,
    ...Object.entries(phase.headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
  ];
  if (phase.distinctIds) {
    const tail = bodyOf(phase, 1)!.slice(idPrefix.length + 1);
    lines.push(
      "local n = 0",
      `request = function() n = n + 1; return wrk.format(nil, nil, nil, ${JSON.stringify(idPrefix)} .. n .. ${JSON.stringify(tail)}) end`,
    );
  } else if (phase.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(phase.body)}`);
  if (phase.script !== undefined) lines.push(phase.script);
  writeFileSync(lua, `${lines.join("\n")}\n`);
  const argv = [wrk, "-t1", `-c${load.concurrency}`, `-d${load.seconds}s`, "--latency", "-s", lua, base + phase.path];
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", timeout: wrkTimeoutMs });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`wrk: exit ${code}: ${await new Response(proc.stderr).text()}`);
  const refused = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  // wrk counts refusals but not their status: a refusal phase checks a sample with check() around it.
  if (refused !== (phase.status === undefined ? 0 : total))
    throw new Error(`${phase.name}: ${refused} of ${total} refused`);
  const socketErrors = /Socket errors: .*/.exec(out);
  if (socketErrors) throw new Error(`${phase.name}: ${socketErrors[0]}`);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rate) throw new Error(`wrk printed no rate:\n${out}`);
  return { ratePerSecond: Number(rate[1]), p50Ms: percentileMs(out, "50"), p99Ms: percentileMs(out, "99") };
}

/** Resident memory of a process in MB (VmRSS), or null once it is gone. */
export function rssMb(pid: number): number | null {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return kb ? Number(kb[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * CPU seconds a process has used so far, all its threads, user and system
 * (/proc/PID/stat utime + stime, at the usual 100 ticks a second): what a
 * phase costs the server, however busy the machine is with other work.
 */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // Fields 14 and 15 of stat(5), counted from the state field, which is field 3.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Every process below `pid` (children, their children, ...), from /proc. */
export function descendants(pid: number): number[] {
  const children: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
    if (text) children.push(...text.split(" ").map(Number));
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}
