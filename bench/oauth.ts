// Token endpoint throughput on the compiled binary, each number beside
// /healthz measured in the same run against the same process:
//
//   bun bench/oauth.ts [--binary path/to/gatehouse] [--concurrency 32] [--seconds 5] [--codes 30000]
//                      [--driver wrk|fetch] [--only code|refresh|client_credentials] [--cpu-prof DIR]
//
// Without --binary it builds one. The server runs in a fresh temp dir on
// loopback only. A public client registers over HTTP (RFC 7591); its
// authorization codes are approved straight into the server's SQLite file
// (support.ts mintCodes), all before the load. Three phases:
//
// - code exchanges: every request redeems a code of its own (codes are
//   single use); --codes must outlast --seconds, or the phase fails on the
//   first refused exchange.
// - refresh rotations: one refresh-token family per connection, each
//   started by a code exchange; every answer carries the family's next
//   token, which the next request presents, so no two requests ever race
//   on one family.
// - client_credentials: a service account (the binary's `service create`)
//   asks for access tokens with its secret in Basic.
//
// Load comes from wrk (-t1) when it is on PATH, for --seconds a phase, with
// a Lua script that keeps the codes and the families; otherwise from fetch
// in this process, --codes requests a phase (fetch numbers are lower: the
// bench and the server share the CPU). --cpu-prof runs the server from
// source under `bun --cpu-prof --cpu-prof-md` and leaves the profiles in DIR
// when it stops; --only keeps one phase, so a profile holds one grant. Each
// phase also prints the server's CPU time per answer (support.ts cpuSeconds).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import {
  build,
  cli,
  codeExchangeBody,
  cpuSeconds,
  email,
  fetchLoad,
  freePort,
  mintCodes,
  type Phase,
  registerPublicClient,
  runWrk,
  waitReady,
  type WrkResult,
  serverEnv,
} from "./support.ts";

const phaseNames = ["code", "refresh", "client_credentials"] as const;
type PhaseName = (typeof phaseNames)[number];

const { values: args } = parseArgs({
  options: {
    binary: { type: "string" },
    concurrency: { type: "string", default: "32" },
    seconds: { type: "string", default: "5" },
    codes: { type: "string", default: "30000" },
    driver: { type: "string" },
    only: { type: "string" },
    "cpu-prof": { type: "string" },
  },
});
const concurrency = Number(args.concurrency);
const seconds = Number(args.seconds);
const codeCount = Number(args.codes);
if (args.only !== undefined && !phaseNames.includes(args.only as PhaseName))
  throw new Error(`--only takes one of ${phaseNames.join(", ")}`);
const only = args.only as PhaseName | undefined;
const warmRequests = 500;

const form = { "content-type": "application/x-www-form-urlencoded" };

/** A token-endpoint phase: the request for wrk (its script) and, for fetch, the body of each next request. */
interface TokenPhase {
  phase: Phase;
  nextBody: () => string | undefined;
  /** What an answer's body teaches the next requests (the family's next refresh token). */
  answered?: (body: string) => void;
}

/** `n` requests from `concurrency` fetch workers, each body from `phase.nextBody`; requests per second. */
async function fetchTokenLoad(base: string, phase: TokenPhase, n: number): Promise<number> {
  let started = 0;
  const start = performance.now();
  const worker = async () => {
    while (started < n) {
      started++;
      const { path, method, headers } = phase.phase;
      const res = await fetch(base + path, { method, headers, body: phase.nextBody() });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${phase.phase.name}: ${res.status} ${text}`);
      phase.answered?.(text);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n / ((performance.now() - start) / 1000);
}

/**
 * Lua: the lines of `file` into a table, and `checked`: wrk calls request()
 * once before any connection opens, to check the script
 * (script_verify_request in wrk.c); that call must take no code or token.
 */
const luaPrelude = (file: string, table: string) =>
  [
    `local ${table} = {}`,
    `for line in io.lines(${JSON.stringify(file)}) do ${table}[#${table} + 1] = line end`,
    "local checked = false",
  ].join("\n");

/**
 * Code exchanges, one code per request: a counter into the minted codes (wrk
 * -t1: one Lua state, so one counter for every connection).
 */
function codePhase(clientId: string, codes: string[], codesFile: string): TokenPhase {
  writeFileSync(codesFile, `${codes.join("\n")}\n`);
  const prefix = codeExchangeBody(clientId, "");
  const script = [
    luaPrelude(codesFile, "codes"),
    "local taken = 0",
    "request = function()",
    "  if checked then taken = taken + 1 else checked = true end",
    // Past the last code: a request the server refuses, which fails the phase.
    `  return wrk.format(nil, nil, nil, ${JSON.stringify(prefix)} .. (codes[taken] or "exhausted"))`,
    "end",
  ].join("\n");
  let next = 0;
  return {
    phase: { name: "code exchange", path: "/oauth/token", method: "POST", headers: form, script },
    nextBody: () => codeExchangeBody(clientId, codes[next++] ?? "exhausted"),
  };
}

const refreshToken = (body: string) => /"refresh_token":"([^"]+)"/.exec(body)?.[1];

/**
 * Refresh rotations over `chains` families: a queue of each family's
 * current token. A request takes the token at the head; its answer puts the
 * family's next token at the tail. Each family has one request in flight at
 * most, whichever connection carries it, so rotations never race. The fetch
 * driver rotates `chains` itself, so it holds the families' tokens after.
 */
function refreshPhase(clientId: string, chains: string[], chainsFile: string): TokenPhase {
  writeFileSync(chainsFile, `${chains.join("\n")}\n`);
  const prefix = new URLSearchParams({
    grant_type: "refresh_token",
    client_id: clientId,
    refresh_token: "",
  }).toString();
  const script = [
    luaPrelude(chainsFile, "queue"),
    "local head, tail = 1, #queue",
    "request = function()",
    '  local token = "exhausted"',
    // An empty queue (a family lost to a refusal) sends a request the server refuses, which fails the phase.
    "  if not checked then checked = true",
    "  elseif head <= tail then token = queue[head]; queue[head] = nil; head = head + 1 end",
    `  return wrk.format(nil, nil, nil, ${JSON.stringify(prefix)} .. token)`,
    "end",
    "response = function(status, headers, body)",
    `  local token = body:match('"refresh_token":"([^"]+)"')`,
    "  if token then tail = tail + 1; queue[tail] = token end",
    "end",
  ].join("\n");
  const queue = chains;
  return {
    phase: { name: "refresh rotation", path: "/oauth/token", method: "POST", headers: form, script },
    nextBody: () => `${prefix}${queue.shift() ?? "exhausted"}`,
    answered: (body) => {
      const next = refreshToken(body);
      if (next) queue.push(next);
    },
  };
}

/** client_credentials with the secret in Basic: the same request every time. */
function serviceTokenPhase(clientId: string, secret: string): TokenPhase {
  const body = "grant_type=client_credentials";
  const headers = { ...form, authorization: `Basic ${btoa(`${clientId}:${secret}`)}` };
  return {
    phase: { name: "client_credentials", path: "/oauth/token", method: "POST", headers, body },
    nextBody: () => body,
  };
}

/** The service account's client_id and secret, from `service create`'s output. */
function serviceCredentials(out: string): { clientId: string; secret: string } {
  const clientId = /^client_id=(\S+)$/m.exec(out)?.[1];
  const secret = /^client_secret=(\S+)$/m.exec(out)?.[1];
  if (!clientId || !secret) throw new Error(`service create printed no credentials: ${out}`);
  return { clientId, secret };
}

/** The server, from the binary, or from source under the CPU profiler. */
function startServer(binary: string, env: Record<string, string>): Subprocess {
  const profileDir = args["cpu-prof"];
  if (profileDir === undefined) return Bun.spawn([binary, "serve"], { env, stdout: "ignore", stderr: "ignore" });
  mkdirSync(profileDir, { recursive: true });
  const profiler = ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${resolve(profileDir)}`];
  return Bun.spawn([process.execPath, ...profiler, "src/main.ts", "serve"], {
    cwd: resolve(import.meta.dir, ".."),
    env,
    stdout: "ignore",
    stderr: "ignore",
  });
}

interface Driver {
  name: string;
  run(base: string, phase: TokenPhase): Promise<WrkResult | number>;
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "gatehouse-bench-oauth-"));
  const dataDir = join(scratch, "data");
  let server: Subprocess | null = null;
  try {
    const binary = args.binary ? resolve(args.binary) : await build(scratch);
    const wrk = Bun.which("wrk");
    if (args.driver === "wrk" && !wrk) throw new Error("--driver wrk: wrk is not on PATH");
    const driver: Driver =
      wrk && args.driver !== "fetch"
        ? {
            name: `wrk -t1 -c${concurrency} -d${seconds}s`,
            run: (base, { phase }) => runWrk(wrk, scratch, base, phase, { concurrency, seconds }),
          }
        : {
            name: `fetch in the bench process, ${concurrency} workers, ${codeCount} requests a phase`,
            run: (base, phase) => fetchTokenLoad(base, phase, codeCount),
          };

    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = serverEnv(port, dataDir);
    server = startServer(binary, env);
    await waitReady(server, `${base}/readyz`);
    await cli(binary, env, ["user", "add", "--email", email]);
    const service = serviceCredentials(await cli(binary, env, ["service", "create", "--name", "bench"]));
    const clientId = await registerPublicClient(base);
    const [warmCodes, seedCodes, codes] = (await Promise.all(
      [warmRequests, concurrency, codeCount].map((n) => mintCodes(base, dataDir, clientId, n)),
    )) as [string[], string[], string[]];

    // One family per connection, each begun by a code exchange.
    const chains = await Promise.all(
      seedCodes.map(async (code) => {
        const res = await fetch(`${base}/oauth/token`, {
          method: "POST",
          headers: form,
          body: codeExchangeBody(clientId, code),
        });
        const token = refreshToken(await res.text());
        if (res.status !== 200 || !token) throw new Error(`seed exchange: ${res.status}`);
        return token;
      }),
    );

    // Warm every path first (fetch, a few hundred requests) so no number pays for first-request compilation.
    const healthz: Phase = { name: "/healthz", path: "/healthz", method: "GET", headers: {} };
    await fetchLoad(base, healthz, 2000, concurrency);
    await fetchTokenLoad(base, codePhase(clientId, warmCodes, join(scratch, "warm-codes.txt")), warmRequests);
    const warmRefresh = refreshPhase(clientId, chains, join(scratch, "warm-chains.txt"));
    await fetchTokenLoad(base, warmRefresh, warmRequests);
    const warmService = serviceTokenPhase(service.clientId, service.secret);
    await fetchTokenLoad(base, warmService, warmRequests);

    const phases: Record<PhaseName, TokenPhase> = {
      code: codePhase(clientId, codes, join(scratch, "codes.txt")),
      refresh: refreshPhase(clientId, chains, join(scratch, "chains.txt")),
      client_credentials: serviceTokenPhase(service.clientId, service.secret),
    };
    const chosen = only ? [only] : phaseNames;

    // The ceiling before and after the token phases: drift shows as a gap between the two.
    const rateOf = (result: WrkResult | number) => (typeof result === "number" ? result : result.ratePerSecond);
    const healthzPhase: TokenPhase = { phase: healthz, nextBody: () => undefined };
    const ceilingBefore = rateOf(await driver.run(base, healthzPhase));
    const results: [PhaseName, WrkResult | number, number][] = [];
    for (const name of chosen) {
      try {
        const cpuBefore = cpuSeconds(server.pid);
        const result = await driver.run(base, phases[name]);
        results.push([name, result, cpuSeconds(server.pid) - cpuBefore]);
      } catch (error) {
        const hint = name === "code" ? " (did the codes run out? raise --codes)" : "";
        throw new Error(`${phases[name].phase.name}${hint}: ${error instanceof Error ? error.message : error}`);
      }
    }
    const ceilingAfter = rateOf(await driver.run(base, healthzPhase));
    const ceiling = (ceilingBefore + ceilingAfter) / 2;

    console.log(`binary: ${binary}${args.binary ? "" : " (built for this run)"}`);
    console.log(
      `server: ${args["cpu-prof"] ? `from source under bun --cpu-prof (${args["cpu-prof"]})` : "the binary"}`,
    );
    console.log(`driver: ${driver.name}${wrk ? "" : " (wrk not found)"}`);
    console.log(
      `/healthz: ${ceilingBefore.toFixed(0)}/s before, ${ceilingAfter.toFixed(0)}/s after; ceiling = their mean`,
    );
    for (const [name, result, cpu] of results) {
      const rate = rateOf(result);
      const latency =
        typeof result === "number" ? "" : `, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`;
      // The server's CPU over the phase per answer; wrk's count is its rate times the phase's length.
      const requests = typeof result === "number" ? codeCount : rate * seconds;
      console.log(
        `${phases[name].phase.name}: ${rate.toFixed(0)}/s = ${(rate / ceiling).toFixed(3)} of /healthz (${ceiling.toFixed(0)}/s)${latency}, server CPU ${((cpu * 1e6) / requests).toFixed(0)} us a request`,
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
