// What GATEHOUSE_METRICS adds to one /mcp tools/call, measured in process
// where the end-to-end rate (bench/mcp.ts --metrics) is too noisy to show it:
//
//   bun bench/metrics.ts [--calls 2000000]
//
// One call's hooks are what a whoami tools/call runs with metrics on: the
// request counter and latency histogram (src/http/request-context.ts) and the
// tool call counter (the audit recorder). A forwarded call adds the upstream
// histogram; that row is printed too. The same hooks off (noMetrics) are the
// baseline. Also how long a scrape takes once the series exist (it runs on the
// event loop: requests wait that long).

import { parseArgs } from "node:util";
import type { AuditEntry } from "../src/audit/entry.ts";
import { createMetrics, type Metrics, noMetrics } from "../src/ops/metrics.ts";

const { values: args } = parseArgs({ options: { calls: { type: "string", default: "2000000" } } });
const calls = Number(args.calls);

const builtin: AuditEntry = { event: "tool_call", outcome: "ok", tool: "gatehouse__whoami", durationMs: 0.05 };
const forwarded: AuditEntry = { ...builtin, tool: "everything__echo", upstream: "everything", durationMs: 0.4 };

/** Nanoseconds per call of one request's hooks, best of three rounds. */
function perCall(metrics: Metrics, entry: AuditEntry): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const start = Bun.nanoseconds();
    for (let i = 0; i < calls; i++) {
      metrics.request("/mcp", "POST", 200, 0.0003);
      metrics.toolCall(entry);
    }
    best = Math.min(best, (Bun.nanoseconds() - start) / calls);
  }
  return best;
}

const on = createMetrics({});
const rows = [
  ["off (noMetrics)", perCall(noMetrics, builtin)],
  ["on, built-in tool", perCall(on, builtin)],
  ["on, forwarded tool", perCall(on, forwarded)],
] as const;
for (const [name, ns] of rows) console.log(`${name}: ${ns.toFixed(0)} ns a tools/call`);

// Scrapes once a few dozen routes and tools have series of their own: the first, then the median of ten more.
for (let i = 0; i < 40; i++) on.request(`/route-${i}`, "GET", 200, 0.001);
for (let i = 0; i < 40; i++) on.toolCall({ ...forwarded, tool: `upstream__tool_${i}` });
const scrapeMs: number[] = [];
let lines = 0;
for (let i = 0; i < 11; i++) {
  const start = performance.now();
  lines = (await on.registry.metrics()).split("\n").length;
  scrapeMs.push(performance.now() - start);
}
const median = scrapeMs.slice(1).sort((a, b) => a - b)[5]!;
console.log(
  `a scrape of ${lines} lines: ${scrapeMs[0]!.toFixed(1)} ms the first, ${median.toFixed(1)} ms the median of ten more`,
);
