// /mcp throughput on the compiled binary, each number beside /healthz (the
// ceiling) measured in the same run against the same process:
//
//   bun bench/mcp.ts [--binary path/to/gatehouse] [--concurrency 32] [--seconds 5] [--requests 20000] [--driver wrk|fetch] [--metrics]
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
// Target (issue 13): tools/call at least 45% of the /healthz rate.
//
// --metrics runs the server with GATEHOUSE_METRICS=true (every request, /healthz
// included, is then counted) and scrapes /metrics once at the end with the
// bench user's key (an admin's then) to show the whoami calls were counted.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import {
  build,
  check,
  cli,
  email,
  fetchLoad,
  freePort,
  oauthToken,
  type Phase,
  runWrk,
  waitReady,
  whoami,
  serverEnv,
} from "./support.ts";

const { values: args } = parseArgs({
  options: {
    binary: { type: "string" },
    concurrency: { type: "string", default: "32" },
    seconds: { type: "string", default: "5" },
    requests: { type: "string", default: "20000" },
    driver: { type: "string" },
    metrics: { type: "boolean", default: false },
  },
});
const concurrency = Number(args.concurrency);
const seconds = Number(args.seconds);
const requests = Number(args.requests);
const warmRequests = 2000;
const target = 0.45;

interface Driver {
  name: string;
  /** Requests per second; throws if any answer was not 2xx. */
  run(base: string, phase: Phase): Promise<number>;
}

const fetchDriver: Driver = {
  name: `fetch in the bench process, ${concurrency} workers, ${requests} requests a phase`,
  run: (base, phase) => fetchLoad(base, phase, requests, concurrency),
};

function wrkDriver(wrk: string, scratch: string): Driver {
  return {
    name: `wrk -t1 -c${concurrency} -d${seconds}s`,
    run: async (base, phase) => (await runWrk(wrk, scratch, base, phase, { concurrency, seconds })).ratePerSecond,
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
    const env = serverEnv(port, dataDir, { GATEHOUSE_METRICS: String(args.metrics) });
    server = Bun.spawn([binary, "serve"], { env, stdout: "ignore", stderr: "ignore" });
    await waitReady(server, `${base}/readyz`);
    await cli(binary, env, ["user", "add", "--email", email, ...(args.metrics ? ["--admin"] : [])]);
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
    for (const phase of [healthz, ...phases]) await fetchLoad(base, phase, warmRequests, concurrency);

    // The ceiling before and after the /mcp phases: drift shows as a gap between the two.
    const ceilingBefore = await driver.run(base, healthz);
    const rates = [];
    for (const phase of phases) rates.push(await driver.run(base, phase));
    const ceilingAfter = await driver.run(base, healthz);
    const ceiling = (ceilingBefore + ceilingAfter) / 2;

    console.log(`binary: ${binary}${args.binary ? "" : " (built for this run)"}`);
    console.log(`driver: ${driver.name}${wrk ? "" : " (wrk not found)"}`);
    console.log(`metrics: ${args.metrics ? `on, ${await whoamiCalls(base, apiKey)} whoami calls counted` : "off"}`);
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

/** gatehouse_tool_calls_total of gatehouse__whoami with outcome ok, as /metrics reports it. */
async function whoamiCalls(base: string, adminKey: string): Promise<number> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const line = (await res.text())
    .split("\n")
    .find((l) => l.startsWith('gatehouse_tool_calls_total{tool="gatehouse__whoami",outcome="ok"} '));
  return Number(line?.split(" ")[1] ?? 0);
}

await main();
