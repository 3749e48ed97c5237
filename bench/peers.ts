// Gatehouse beside the gateways people use instead, all in front of the same
// stdio upstream (@modelcontextprotocol/server-everything under node, its
// echo tool), each number beside Gatehouse's /healthz in the same run:
//
//   bun bench/peers.ts [--binary path/to/gatehouse] [--seconds 5] [--tokens 1000000] [--instances 1]
//
// Gatehouse runs as mcp.ts runs it (compiled binary, temp dir, loopback, an
// API key from its CLI, audit on, the rate limit on but set above any phase),
// with the upstream in its config file (--instances processes of it; the
// peers run one). supergateway and mcp-proxy (pinned
// devDependencies) expose it over Streamable HTTP without any authentication,
// each in stateful mode (stateless supergateway spawns a process per request):
// the bench does the 2025-06-18 initialize handshake and replays the session
// id. wrk -t1 drives tools/call echo at c=32 (req/s; RSS of the gateway and
// of its upstream read at the end of that phase) and at c=1 (p50, p99).
// "Direct" is the upstream alone through the SDK's stdio client, one call at a
// time: Gatehouse's added latency is its c=1 p50 minus that one.
//
// Then the bearer check at scale: tools/call gatehouse__whoami with the API
// key, with an OAuth access token (both then in the credential cache) and with
// an unknown key (a table lookup every time), on the database as it is,
// then again after --tokens live API keys and --tokens live access tokens are
// written into the server's SQLite file (random ids and hashes of the real
// shapes, one transaction each; WAL lets the bench write beside the server).
//
// Needs wrk on PATH and node (the peers and the upstream run under node).
// Every phase is bounded (wrk -d, fetch timeouts, readiness deadlines); every
// process and the temp dir go on exit, also on error or Ctrl-C.

import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import type { Subprocess } from "bun";
import { openDatabase } from "../src/db/client.ts";
import { randomString } from "../src/security/tokens.ts";
import {
  build,
  check,
  cli,
  descendants,
  email,
  fetchLoad,
  freePort,
  mcpMessage,
  oauthToken,
  type Phase,
  rssMb,
  runWrk,
  type WrkResult,
  waitReady,
  whoami,
  serverEnv,
} from "./support.ts";

const usage =
  "usage: bun bench/peers.ts [--binary path/to/gatehouse] [--seconds 5] [--tokens 1000000] [--instances 1]\n" +
  "Gatehouse, supergateway and mcp-proxy in front of server-everything's echo (wrk -t1, c=32 and c=1),\n" +
  "then the bearer check with --tokens live API keys and access tokens in the database.";

const { values: args } = parseArgs({
  options: {
    binary: { type: "string" },
    seconds: { type: "string", default: "5" },
    instances: { type: "string", default: "1" },
    tokens: { type: "string", default: "1000000" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const seconds = Number(args.seconds);
const fillerCount = Number(args.tokens);
const instances = Number(args.instances);
if (!(seconds > 0) || !Number.isInteger(fillerCount) || fillerCount < 0) throw new Error(usage);
if (!Number.isInteger(instances) || instances < 1 || instances > 64) throw new Error(usage);

const repo = resolve(import.meta.dir, "..");
const everything = join(repo, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
const supergateway = realpathSync(join(repo, "node_modules/.bin/supergateway"));
const mcpProxy = realpathSync(join(repo, "node_modules/.bin/mcp-proxy"));
const era = "2025-06-18";
const heavy = { concurrency: 32, seconds };
const single = { concurrency: 1, seconds };
const warmRequests = 1000;
// More for the bearer phases: with fewer, the first round (the empty database) still paid for warming up.
const bearerWarmRequests = 5000;
const directCalls = 3000;
const requestTimeoutMs = 10_000;
const stopTimeoutMs = 5000;
const echoArguments = { message: "hello" };

const scratch = mkdtempSync(join(tmpdir(), "gatehouse-bench-peers-"));
const running: Subprocess[] = [];
const logs: string[] = [];

/** Kills what the bench started, their children first (the upstreams), then the temp dir. */
async function cleanUp(): Promise<void> {
  for (const proc of running.splice(0)) {
    const below = proc.exitCode === null ? descendants(proc.pid) : [];
    proc.kill("SIGTERM");
    for (const pid of below) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // gone already with its parent
      }
    }
    const stopped = await Promise.race([proc.exited.then(() => true), Bun.sleep(stopTimeoutMs).then(() => false)]);
    if (!stopped) proc.kill("SIGKILL");
  }
  rmSync(scratch, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void cleanUp().then(() => process.exit(1));
  });
}
/** Progress on stderr, so a slow phase shows where it is. */
const step = (what: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${what}`);

/** Starts a server in the temp dir, its output in `<name>.log` there (printed if the bench fails). */
function start(name: string, argv: string[], env: Record<string, string> = {}): Subprocess {
  const log = Bun.file(join(scratch, `${name}.log`));
  const proc = Bun.spawn(argv, {
    env: { PATH: process.env.PATH ?? "", ...env },
    cwd: scratch,
    stdout: log,
    stderr: log,
  });
  running.push(proc);
  logs.push(log.name!);
  return proc;
}

/** A JSON-RPC request to an MCP endpoint: its parsed message and the response's session id. */
async function rpc(url: string, headers: Record<string, string>, body: object) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${url}: ${res.status} ${text}`);
  return { message: text ? mcpMessage(text) : null, sessionId: res.headers.get("mcp-session-id") };
}

/** The 2025-06-18 handshake (initialize, then notifications/initialized); the session id to replay. */
async function openSession(url: string): Promise<string> {
  const params = { protocolVersion: era, capabilities: {}, clientInfo: { name: "gatehouse-bench", version: "1.0.0" } };
  const init = await rpc(url, {}, { jsonrpc: "2.0", id: 0, method: "initialize", params });
  if (!init.sessionId) throw new Error(`${url}: initialize gave no mcp-session-id`);
  const headers = { "mcp-session-id": init.sessionId, "mcp-protocol-version": era };
  await rpc(url, headers, { jsonrpc: "2.0", method: "notifications/initialized" });
  return init.sessionId;
}

/** Retries `attempt` until it resolves, `proc` exits or the deadline passes (a server still starting its upstream). */
async function retry<T>(what: string, proc: Subprocess, attempt: () => Promise<T>, deadlineMs = 30_000): Promise<T> {
  const t0 = performance.now();
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (proc.exitCode !== null || performance.now() - t0 > deadlineMs) throw new Error(`${what}: ${error}`);
      await Bun.sleep(100);
    }
  }
}

function echoPhase(name: string, tool: string, headers: Record<string, string>): Phase {
  return {
    name,
    path: "/mcp",
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": era,
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: tool, arguments: echoArguments },
    }),
    distinctIds: true,
  };
}

interface Row {
  name: string;
  heavy: WrkResult;
  single: WrkResult;
  gatewayMb: number | null;
  upstreamMb: number | null;
}

/** Warms the phase, then c=32 (memory read just before it ends) and c=1. */
async function measure(base: string, phase: Phase, proc: Subprocess): Promise<Row> {
  step(`${phase.name}: tools/call echo`);
  await check(base, phase);
  await fetchLoad(base, phase, warmRequests, heavy.concurrency);
  let gatewayMb: number | null = null;
  let upstreamMb: number | null = null;
  const sample = setTimeout(
    () => {
      gatewayMb = rssMb(proc.pid);
      upstreamMb = descendants(proc.pid)
        .map(rssMb)
        .reduce<number>((sum, mb) => sum + (mb ?? 0), 0);
    },
    seconds * 1000 - 300,
  );
  const heavyResult = await runWrk(wrk, scratch, base, phase, heavy);
  clearTimeout(sample);
  const singleResult = await runWrk(wrk, scratch, base, phase, single);
  return { name: phase.name, heavy: heavyResult, single: singleResult, gatewayMb, upstreamMb };
}

/** The upstream alone through the SDK's stdio client, one call at a time: p50 and p99 in ms. */
async function direct(): Promise<{ p50Ms: number; p99Ms: number }> {
  const client = new Client({ name: "gatehouse-bench", version: "1.0.0" });
  const transport = new StdioClientTransport({ command: "node", args: [everything, "stdio"], stderr: "ignore" });
  await client.connect(transport);
  try {
    const times: number[] = [];
    for (let i = 0; i < warmRequests + directCalls; i++) {
      const t0 = performance.now();
      await client.callTool({ name: "echo", arguments: echoArguments }, { timeout: requestTimeoutMs });
      if (i >= warmRequests) times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    return { p50Ms: at(0.5), p99Ms: at(0.99) };
  } finally {
    await client.close();
  }
}

/**
 * `count` live API keys and `count` live access tokens, written in one
 * transaction each beside the running server. Only the row shapes matter:
 * ids are random (16 base32 characters, like real ones), hashes random hex.
 */
function fill(dataDir: string, count: number): number {
  const t0 = performance.now();
  const db = openDatabase(dataDir);
  const sqlite = db.$client;
  try {
    const user = sqlite.query<{ id: string }, [string]>("SELECT id FROM users WHERE email = ?").get(email);
    if (!user) throw new Error(`no user ${email}`);
    const grant = sqlite.query<{ grant_id: string }, []>("SELECT grant_id FROM oauth_tokens LIMIT 1").get();
    if (!grant) throw new Error("no OAuth grant to hang the access tokens on");
    const now = Math.floor(Date.now() / 1000);
    const hex = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
    const key = sqlite.prepare(
      "INSERT INTO api_keys (id, user_id, name, secret_hash, scope, created_at) VALUES (?, ?, ?, ?, 'mcp:read mcp:write', ?)",
    );
    const token = sqlite.prepare(
      "INSERT INTO oauth_tokens (id, kind, secret_hash, grant_id, scope, created_at, expires_at) VALUES (?, 'access', ?, ?, 'mcp:read mcp:write', ?, ?)",
    );
    sqlite.transaction(() => {
      for (let i = 0; i < count; i++) key.run(randomString(10), user.id, `filler ${i}`, hex(), now);
    })();
    sqlite.transaction(() => {
      for (let i = 0; i < count; i++) token.run(randomString(10), hex(), grant.grant_id, now, now + 86_400);
    })();
    sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    sqlite.close();
  }
  return (performance.now() - t0) / 1000;
}

const wrk = Bun.which("wrk") ?? "";

async function main(): Promise<void> {
  if (!wrk) throw new Error("wrk is not on PATH");
  const binary = args.binary ? resolve(args.binary) : await build(scratch);

  // Gatehouse, the upstream in its config file.
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = join(scratch, "data");
  const config = join(scratch, "gatehouse.toml");
  writeFileSync(
    config,
    // Left out at 1, so that a binary from before `instances` existed can be measured too.
    `[[upstream]]\nname = "everything"\ncommand = "node"\nargs = ["${everything}", "stdio"]\n${instances > 1 ? `instances = ${instances}\n` : ""}`,
  );
  const env = serverEnv(port, dataDir, { GATEHOUSE_CONFIG: config });
  const gatehouse = start("gatehouse", [binary, "serve"], env);
  await waitReady(gatehouse, `${base}/readyz`);
  const gatehouseCli = (argv: string[]) => cli(binary, { PATH: process.env.PATH ?? "", ...env }, argv);
  await gatehouseCli(["user", "add", "--email", email]);
  // One key for the echo phases, another for the bearer phases: neither nears the per-key rate limit.
  const apiKey = await gatehouseCli(["key", "create", "--user", email, "--name", "echo"]);
  const bearerKey = await gatehouseCli(["key", "create", "--user", email, "--name", "bearer"]);
  const accessToken = await oauthToken(base, dataDir);
  const healthz: Phase = { name: "/healthz", path: "/healthz", method: "GET", headers: {} };
  const gatehouseEcho = echoPhase("Gatehouse", "everything__echo", { authorization: `Bearer ${apiKey}` });
  await retry("Gatehouse's upstream", gatehouse, () => check(base, gatehouseEcho));
  await fetchLoad(base, healthz, warmRequests, heavy.concurrency);
  const ceilingBefore = await runWrk(wrk, scratch, base, healthz, heavy);
  const ceilingSingle = await runWrk(wrk, scratch, base, healthz, single);
  const rows = [await measure(base, gatehouseEcho, gatehouse)];

  // supergateway, stateful: one upstream process for the session.
  const sgPort = freePort();
  const sgBase = `http://127.0.0.1:${sgPort}`;
  const sg = start("supergateway", [
    "node",
    supergateway,
    "--stdio",
    `node ${everything} stdio`,
    "--outputTransport",
    "streamableHttp",
    "--stateful",
    "--port",
    String(sgPort),
    "--logLevel",
    "none",
    "--healthEndpoint",
    "/healthz",
  ]);
  await waitReady(sg, `${sgBase}/healthz`);
  const sgSession = await retry("supergateway's session", sg, () => openSession(`${sgBase}/mcp`));
  rows.push(await measure(sgBase, echoPhase("supergateway 4.0.0", "echo", { "mcp-session-id": sgSession }), sg));

  // mcp-proxy, its stream endpoint only.
  const mpPort = freePort();
  const mpBase = `http://127.0.0.1:${mpPort}`;
  const mp = start("mcp-proxy", [
    "node",
    mcpProxy,
    "--port",
    String(mpPort),
    "--host",
    "127.0.0.1",
    "--server",
    "stream",
    "--",
    "node",
    everything,
    "stdio",
  ]);
  const mpSession = await retry("mcp-proxy's session", mp, () => openSession(`${mpBase}/mcp`));
  rows.push(await measure(mpBase, echoPhase("mcp-proxy 6.7.19", "echo", { "mcp-session-id": mpSession }), mp));

  const ceilingAfter = await runWrk(wrk, scratch, base, healthz, heavy);
  const ceiling = (ceilingBefore.ratePerSecond + ceilingAfter.ratePerSecond) / 2;
  step("the upstream alone over stdio");
  const alone = await direct();

  // The bearer check with the database as it is, then with the filler rows.
  // A key of the right shape that is in no row: every request misses the
  // credential cache and looks the id up in the table (and is refused).
  const unknownKey = `gate_key_${randomString(10)}_${randomString(32)}`;
  const bearerPhases = [
    whoami("whoami (API key)", bearerKey, "2026-07-28"),
    whoami("whoami (OAuth token)", accessToken, "2026-07-28"),
    { ...whoami("unknown API key (401)", unknownKey, "2026-07-28"), status: 401 },
  ];
  const bearerRate = async (phase: Phase) => {
    step(phase.name);
    await check(base, phase);
    await fetchLoad(base, phase, bearerWarmRequests, heavy.concurrency);
    const rate = (await runWrk(wrk, scratch, base, phase, heavy)).ratePerSecond;
    await check(base, phase);
    return rate;
  };
  // /healthz around the two rounds shows how far the shared machine drifted meanwhile.
  const bearerCeilingBefore = await runWrk(wrk, scratch, base, healthz, heavy);
  const empty = [];
  for (const phase of bearerPhases) empty.push(await bearerRate(phase));
  step(`writing ${fillerCount} API keys and ${fillerCount} access tokens`);
  const fillSeconds = fill(dataDir, fillerCount);
  const full = [];
  for (const phase of bearerPhases) full.push(await bearerRate(phase));
  const bearerCeilingAfter = await runWrk(wrk, scratch, base, healthz, heavy);

  const best = Math.max(...rows.slice(1).map((r) => r.heavy.ratePerSecond));
  const ms = (n: number) => n.toFixed(2);
  const mb = (n: number | null) => (n === null ? "?" : n.toFixed(0));
  console.log(
    `binary: ${binary}${args.binary ? "" : " (built for this run)"}; Gatehouse's upstream instances: ${instances}`,
  );
  console.log(`driver: wrk -t1 -d${seconds}s, c=32 and c=1; tools/call echo over ${era} (peers: in a session)`);
  console.log(
    `Gatehouse /healthz: c=32 ${ceilingBefore.ratePerSecond.toFixed(0)}/s before, ${ceilingAfter.ratePerSecond.toFixed(0)}/s after (ceiling = their mean); c=1 p50 ${ms(ceilingSingle.p50Ms)} ms, p99 ${ms(ceilingSingle.p99Ms)} ms`,
  );
  console.log("");
  console.log("| gateway | req/s c=32 | of /healthz | p50 c=1 | p99 c=1 | RSS gateway | RSS upstream |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.heavy.ratePerSecond.toFixed(0)} | ${(r.heavy.ratePerSecond / ceiling).toFixed(3)} | ${ms(r.single.p50Ms)} ms | ${ms(r.single.p99Ms)} ms | ${mb(r.gatewayMb)} MB | ${mb(r.upstreamMb)} MB |`,
    );
  }
  console.log(`| direct (SDK stdio client) | | | ${ms(alone.p50Ms)} ms | ${ms(alone.p99Ms)} ms | | |`);
  console.log("");
  const ours = rows[0]!;
  console.log(`Gatehouse / best peer at c=32: ${(ours.heavy.ratePerSecond / best).toFixed(2)}×`);
  console.log(`latency Gatehouse adds at c=1 (p50 minus direct p50): ${ms(ours.single.p50Ms - alone.p50Ms)} ms`);
  console.log("");
  console.log(
    `bearer check, ${fillerCount} live API keys and ${fillerCount} live access tokens (written in ${fillSeconds.toFixed(1)} s):`,
  );
  console.log(
    `/healthz: ${bearerCeilingBefore.ratePerSecond.toFixed(0)}/s before, ${bearerCeilingAfter.ratePerSecond.toFixed(0)}/s after`,
  );
  for (const [i, phase] of bearerPhases.entries()) {
    console.log(
      `${phase.name}: ${empty[i]!.toFixed(0)}/s before, ${full[i]!.toFixed(0)}/s after = ${(full[i]! / empty[i]!).toFixed(3)}`,
    );
  }
}

try {
  await main();
} catch (error) {
  for (const log of logs) console.error(`--- ${log} (last 2000 characters)\n${readFileSync(log, "utf8").slice(-2000)}`);
  throw error;
} finally {
  await cleanUp();
}
