// A long run of mixed traffic at half the measured capacity, run by hand
// (not in CI): tool calls through a stdio upstream, refresh-token rotations
// and page loads, against the compiled binary:
//
//   bun bench/soak.ts [--binary path/to/gatehouse] [--minutes 10] [--fraction 0.5]
//
// First the capacity: wrk -t1 -c32 for 5 s of the same mix, unthrottled.
// Then --minutes one-minute rounds of wrk at --fraction of it: each of its 16
// connections waits between requests (wrk's delay()) so the rounds offer that
// rate, and the wait is corrected after each round by the rate it reached. Each
// round prints its rate, errors (non-2xx, JSON-RPC errors, failed tools, lost
// refresh families), p50 and p99, and the resident memory of Gatehouse and of
// its upstream. At the end, against the issue's targets: no errors, memory
// growth after the first minute under 10%, p99 stable (the last rounds' p99
// within 2x the best round's).
//
// The mix, per 10 requests: 8 tools/call of server-everything's echo over
// 2025-06-18 with an API key, 1 refresh rotation (64 families, one request in
// flight per family at most), 1 GET of the sign-in page. Needs wrk and node.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import {
  build,
  cli,
  codeExchangeBody,
  descendants,
  email,
  freePort,
  mintCodes,
  registerPublicClient,
  rssMb,
  waitReady,
  serverEnv,
} from "./support.ts";

const { values: args } = parseArgs({
  options: {
    binary: { type: "string" },
    minutes: { type: "string", default: "10" },
    fraction: { type: "string", default: "0.5" },
  },
});
const minutes = Number(args.minutes);
const fraction = Number(args.fraction);
if (!(minutes >= 1) || !(fraction > 0 && fraction <= 1))
  throw new Error("usage: bun bench/soak.ts [--binary path] [--minutes N>=1] [--fraction 0<f<=1]");

const repo = resolve(import.meta.dir, "..");
const everything = join(repo, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
const families = 64;
const connections = 16;
const roundSeconds = 60;

interface Round {
  rate: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

/** The Lua for wrk: the mix, its checks, and a wait before each request (ms, in `wait.txt`, 0 for none). */
function mixScript(dir: string, apiKey: string, clientId: string): string {
  const chainsFile = join(dir, "chains.txt");
  const echo = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "everything__echo", arguments: { message: "soak" } },
  });
  const refresh = new URLSearchParams({ grant_type: "refresh_token", client_id: clientId, refresh_token: "" });
  const lua = `
local queue = {}
for line in io.lines(${JSON.stringify(chainsFile)}) do queue[#queue + 1] = line end
local head, tail = 1, #queue
local wait = tonumber(io.open(${JSON.stringify(join(dir, "wait.txt"))}):read("*l"))
local n = 0
soak_errors = 0
local echoHeaders = { ["content-type"] = "application/json", ["accept"] = "application/json, text/event-stream",
  ["authorization"] = ${JSON.stringify(`Bearer ${apiKey}`)}, ["mcp-protocol-version"] = "2025-06-18" }
local formHeaders = { ["content-type"] = "application/x-www-form-urlencoded" }
request = function()
  n = n + 1
  local slot = n % 10
  if slot == 0 and head <= tail then
    local token = queue[head]; queue[head] = nil; head = head + 1
    return wrk.format("POST", "/oauth/token", formHeaders, ${JSON.stringify(refresh.toString())} .. token)
  elseif slot == 5 then
    return wrk.format("GET", "/sign-in", {}, nil)
  end
  return wrk.format("POST", "/mcp", echoHeaders, ${JSON.stringify(echo)})
end
-- Answers come back in any order across connections: each is told apart by its body.
response = function(status, headers, body)
  if body:find('"jsonrpc"', 1, true) then
    if status ~= 200 or not body:find("Echo: soak", 1, true) or body:find('"isError":true', 1, true) then soak_errors = soak_errors + 1 end
  elseif body:find('"access_token"', 1, true) then
    local token = body:match('"refresh_token":"([^"]+)"')
    if token then tail = tail + 1; queue[tail] = token else soak_errors = soak_errors + 1 end
  elseif status ~= 200 or not body:find("<html", 1, true) then
    -- A refused refresh loses its family; anything else unexpected counts too.
    soak_errors = soak_errors + 1
  end
end
delay = function() return wait end
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("soak_errors") end
  io.write(string.format("soak-errors %d\\n", total))
end
`;
  const file = join(dir, "mix.lua");
  writeFileSync(file, lua);
  return file;
}

async function runRound(
  dir: string,
  script: string,
  base: string,
  load: { seconds: number; waitMs: number; chains: string[] },
): Promise<Round> {
  const { seconds, waitMs, chains } = load;
  writeFileSync(join(dir, "wait.txt"), `${Math.max(0, Math.round(waitMs))}\n`);
  writeFileSync(join(dir, "chains.txt"), `${chains.join("\n")}\n`);
  const argv = ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, base];
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", timeout: (seconds + 30) * 1000 });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`wrk: exit ${code}: ${await new Response(proc.stderr).text()}`);
  const ms = (percent: string) => {
    const m = new RegExp(`^\\s*${percent}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
    if (!m) throw new Error(`wrk printed no ${percent}%:\n${out}`);
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]!]!;
  };
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const scripted = Number(/soak-errors (\d+)/.exec(out)?.[1] ?? 0);
  return {
    rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    requests,
    // A non-2xx answer is also counted by the script (every kind checks its status): count it once.
    errors: Math.max(non2xx, scripted) + socketErrors,
    p50Ms: ms("50"),
    p99Ms: ms("99"),
  };
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "gatehouse-bench-soak-"));
  let server: Subprocess | null = null;
  try {
    const binary = args.binary ? resolve(args.binary) : await build(scratch);
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const dataDir = join(scratch, "data");
    const config = join(scratch, "gatehouse.toml");
    writeFileSync(config, `[[upstream]]\nname = "everything"\ncommand = "node"\nargs = ["${everything}", "stdio"]\n`);
    const env = serverEnv(port, dataDir, { GATEHOUSE_CONFIG: config });
    server = Bun.spawn([binary, "serve"], { env, stdout: "ignore", stderr: "ignore" });
    await waitReady(server, `${base}/readyz`);
    await cli(binary, env, ["user", "add", "--email", email]);
    const apiKey = await cli(binary, env, ["key", "create", "--user", email, "--name", "soak"]);
    const clientId = await registerPublicClient(base);
    // Fresh families each round: a token in flight when wrk stops is lost with the Lua state that held its family.
    const newChains = async () => {
      const chains: string[] = [];
      for (const code of await mintCodes(base, dataDir, clientId, families)) {
        const res = await fetch(`${base}/oauth/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: codeExchangeBody(clientId, code),
        });
        chains.push(((await res.json()) as { refresh_token: string }).refresh_token);
      }
      return chains;
    };
    const script = mixScript(scratch, apiKey, clientId);
    const rss = () => {
      const below = descendants(server!.pid);
      return { gatehouse: rssMb(server!.pid) ?? 0, upstream: below.reduce((sum, pid) => sum + (rssMb(pid) ?? 0), 0) };
    };

    const capacity = await runRound(scratch, script, base, { seconds: 5, waitMs: 0, chains: await newChains() });
    if (capacity.errors > 0) throw new Error(`the capacity run had ${capacity.errors} errors`);
    const target = capacity.rate * fraction;
    console.log(`binary: ${binary}`);
    console.log(
      `capacity (wrk -t1 -c${connections}, 5 s, no wait): ${capacity.rate.toFixed(0)}/s; soak at ${fraction} of it: ${target.toFixed(0)}/s for ${minutes} min`,
    );
    console.log("minute | req/s | errors | p50 | p99 | RSS Gatehouse | RSS upstream");
    let waitMs = Math.max(0, (connections * 1000) / target - capacity.p50Ms);
    const rounds: (Round & { gatehouseMb: number; upstreamMb: number })[] = [];
    for (let minute = 1; minute <= minutes; minute++) {
      const round = await runRound(scratch, script, base, { seconds: roundSeconds, waitMs, chains: await newChains() });
      const memory = rss();
      rounds.push({ ...round, gatehouseMb: memory.gatehouse, upstreamMb: memory.upstream });
      console.log(
        `${minute} | ${round.rate.toFixed(0)} | ${round.errors} | ${round.p50Ms.toFixed(2)} ms | ${round.p99Ms.toFixed(2)} ms | ${memory.gatehouse.toFixed(0)} MB | ${memory.upstream.toFixed(0)} MB`,
      );
      // Offer the target next minute: scale each connection's cycle by how far this one was off.
      waitMs = Math.max(0, (waitMs + round.p50Ms) * (round.rate / target) - round.p50Ms);
    }
    const errors = rounds.reduce((sum, r) => sum + r.errors, 0);
    const first = rounds[0]!.gatehouseMb;
    const growth = Math.max(...rounds.map((r) => r.gatehouseMb)) / first - 1;
    const p99s = rounds.map((r) => r.p99Ms);
    const late = p99s.slice(Math.max(1, p99s.length - 3));
    const stable = Math.max(...late) <= 2 * Math.min(...p99s);
    console.log(
      `errors: ${errors} (target 0); Gatehouse RSS after minute 1 ${first.toFixed(0)} MB, largest after ${(growth * 100).toFixed(1)}% more (target < 10%); p99 ${Math.min(...p99s).toFixed(2)}–${Math.max(...p99s).toFixed(2)} ms, last rounds ${stable ? "within" : "beyond"} 2x the best`,
    );
  } finally {
    if (server) {
      const below = descendants(server.pid);
      server.kill("SIGTERM");
      await server.exited;
      for (const pid of below) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // gone with its parent
        }
      }
    }
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
