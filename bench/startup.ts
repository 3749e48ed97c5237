// Startup cost of the compiled binary, each number beside a plain Bun server
// measured in the same run on the same machine.
//
//   bun bench/startup.ts [path/to/gatehouse]
//
// Without a path it builds the binary first. Each startup run uses a fresh
// empty directory, so it includes creating and migrating the database.

import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

const runs = 5;
const warmRequests = 20;
const readyTimeoutMs = 10_000;

interface Target {
  name: string;
  /** The command and the path to poll, for a server on `port` in `cwd`. */
  start(port: number, cwd: string): { proc: Subprocess; path: string };
}

const gatehouse = (binary: string): Target => ({
  name: "gatehouse",
  start: (port, cwd) => ({
    proc: Bun.spawn([binary], {
      cwd,
      env: { PATH: process.env.PATH, PORT: String(port) },
      stdout: "ignore",
      stderr: "ignore",
    }),
    path: "/readyz",
  }),
});

const plainBun: Target = {
  name: "plain Bun server",
  start: (port, cwd) => ({
    proc: Bun.spawn([process.execPath, "-e", `Bun.serve({ port: ${port}, fetch: () => new Response("ok") })`], {
      cwd,
      env: { PATH: process.env.PATH },
      stdout: "ignore",
      stderr: "ignore",
    }),
    path: "/",
  }),
};

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

async function build(): Promise<string> {
  const outfile = join(mkdtempSync(join(tmpdir(), "gatehouse-bench-")), "gatehouse");
  const repo = resolve(import.meta.dir, "..");
  const proc = Bun.spawn([process.execPath, "build", "--compile", "--minify", "src/main.ts", "--outfile", outfile], {
    cwd: repo,
    stdout: "ignore",
    stderr: "pipe",
  });
  if ((await proc.exited) !== 0) throw new Error(`build failed:\n${await new Response(proc.stderr).text()}`);
  return outfile;
}

interface Started {
  proc: Subprocess;
  port: number;
  path: string;
  dir: string;
  /** Milliseconds from spawn to the first 200. */
  readyMs: number;
}

async function startAndWait(target: Target): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-run-"));
  const port = freePort();
  const t0 = performance.now();
  const { proc, path } = target.start(port, dir);
  while (performance.now() - t0 < readyTimeoutMs) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => null);
    if (res?.status === 200) return { proc, port, path, dir, readyMs: performance.now() - t0 };
    if (proc.exitCode !== null) break;
    await Bun.sleep(2);
  }
  proc.kill("SIGKILL");
  throw new Error(`${target.name} did not answer ${path} with 200 within ${readyTimeoutMs} ms`);
}

async function stop(s: Started): Promise<void> {
  s.proc.kill("SIGTERM");
  await s.proc.exited;
  rmSync(s.dir, { recursive: true, force: true });
}

/** Resident memory after a few requests and a pause, from /proc (Linux). */
async function idleRssMb(s: Started): Promise<number> {
  for (let i = 0; i < warmRequests; i++) await (await fetch(`http://127.0.0.1:${s.port}${s.path}`)).arrayBuffer();
  await Bun.sleep(500);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${s.proc.pid}/status`, "utf8"));
  if (!match) throw new Error("no VmRSS in /proc/<pid>/status");
  return Number(match[1]) / 1024;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const line = (what: string, value: number, unit: string, baseName: string, base: number, digits = 1) =>
  `${what}: ${value.toFixed(digits)} ${unit} (${baseName}: ${base.toFixed(digits)} ${unit}, ratio ${(value / base).toFixed(2)}x)`;

async function main(): Promise<void> {
  const given = process.argv[2];
  const binary = given ? resolve(given) : await build();
  const app = gatehouse(binary);
  const mb = (bytes: number) => bytes / 1_000_000;

  // Alternate the two so drift (CPU frequency, page cache) hits both alike.
  const times: Record<string, number[]> = { [app.name]: [], [plainBun.name]: [] };
  for (let i = 0; i < runs; i++) {
    for (const target of [plainBun, app]) {
      const s = await startAndWait(target);
      times[target.name]!.push(s.readyMs);
      await stop(s);
    }
  }

  const rss: Record<string, number> = {};
  for (const target of [plainBun, app]) {
    const s = await startAndWait(target);
    rss[target.name] = await idleRssMb(s);
    await stop(s);
  }

  console.log(`binary: ${binary}${given ? "" : " (built for this run)"}`);
  console.log(
    line("binary size", mb(statSync(binary).size), "MB", "the bun executable", mb(statSync(process.execPath).size)),
  );
  console.log(line("startup", median(times[app.name]!), "ms", plainBun.name, median(times[plainBun.name]!), 0));
  console.log(`  runs, ms: gatehouse ${fmt(times[app.name]!)}; plain Bun server ${fmt(times[plainBun.name]!)}`);
  console.log(line("idle RSS", rss[app.name]!, "MB", plainBun.name, rss[plainBun.name]!));
  console.log(
    `  (startup: spawn to first /readyz 200 in a fresh empty dir, median of ${runs}; RSS: VmRSS after ${warmRequests} requests)`,
  );
  if (!given) rmSync(resolve(binary, ".."), { recursive: true, force: true });
}

const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");

await main();
