import { type CounterConfiguration, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AuditEntry } from "../audit/entry.ts";
import type { AuditRecorder } from "../audit/recorder.ts";
import type { Gateway } from "../gateway/gateway.ts";
import type { UpstreamState } from "../gateway/upstream.ts";

// Prometheus metrics (GATEHOUSE_METRICS, docs/metrics.md). Each app has a
// registry of its own, never prom-client's global one: tests make many apps
// in one process, and each must count only its own requests.
//
// On the hot path a request costs a few Map lookups, one `++` and one
// histogram observe: each label set's cell is made once and kept in nested
// Maps (route, then method, then status), so no label object or joined key is
// built per request, and counters are tallied in plain numbers handed to
// prom-client at scrape time (its own inc hashes the labels on every call,
// about as dear as an observe; bench/metrics.ts). Every label value is bounded:
// route patterns (never raw paths), known methods, statuses, catalogue tool
// names, configured upstreams, fixed limiter and grant type names.

/** The throttles whose refusals are counted: /mcp per credential, failed sign-ins, registrations, wrong device codes. */
export const rateLimiters = ["mcp", "sign_in", "registration", "device_code"] as const;
export type RateLimiterName = (typeof rateLimiters)[number];

export interface Metrics {
  /** One HTTP answer: its route pattern (undefined when no route matched), method, status and seconds taken. */
  request(route: string | undefined, method: string, status: number, seconds: number): void;
  /** One tools/call, as its audit entry says: which tool, which upstream, how it ended, how long it took. */
  toolCall(entry: AuditEntry): void;
  /** A request a throttle refused (429). */
  rateLimited(limiter: RateLimiterName): void;
  /** An access token issued by the token endpoint, by grant type. */
  tokenIssued(grantType: string): void;
}

/** Metrics off: every hook does nothing. */
export const noMetrics: Metrics = {
  request() {},
  toolCall() {},
  rateLimited() {},
  tokenIssued() {},
};

export interface MetricsRegistry extends Metrics {
  registry: Registry;
}

// Seconds. A built-in tool answers in well under a millisecond, a forwarded call in a few; the
// upstream buckets run to the default tool timeout (GATEHOUSE_TOOL_TIMEOUT, 60 s).
const requestBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const upstreamBuckets = [...requestBuckets, 30, 60];

const knownMethods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const upstreamStates: readonly UpstreamState[] = ["starting", "connected", "failed", "stopped"];

/** prom-client's process metrics that Bun does not feed (its event loop delay monitor reports nothing): left out, not sent as zeros or NaN. */
const unfedDefaultMetrics = [
  "nodejs_eventloop_lag_seconds",
  "nodejs_eventloop_lag_min_seconds",
  "nodejs_eventloop_lag_max_seconds",
  "nodejs_eventloop_lag_mean_seconds",
  "nodejs_eventloop_lag_stddev_seconds",
  "nodejs_eventloop_lag_p50_seconds",
  "nodejs_eventloop_lag_p90_seconds",
  "nodejs_eventloop_lag_p99_seconds",
];

/** One label set of a tallied counter: increments since the last scrape. */
interface Tally {
  count: number;
}

/**
 * A counter whose label sets are Tallies: `tally.count++` on the hot path,
 * added to prom-client's counter when it is collected (each scrape). A tally
 * is listed from its first scrape on, at 0 until it moves.
 */
function talliedCounter<T extends string>(config: CounterConfiguration<T>): (...values: string[]) => Tally {
  const tallies: { tally: Tally; child: Counter.Internal }[] = [];
  const counter = new Counter({
    ...config,
    collect() {
      for (const { tally, child } of tallies) {
        child.inc(tally.count);
        tally.count = 0;
      }
    },
  });
  return (...values) => {
    const tally = { count: 0 };
    tallies.push({ tally, child: counter.labels(...values) });
    return tally;
  };
}

/**
 * The cell of each pair of label values, made by `make` on first use: a hit
 * is two Map lookups and allocates nothing.
 */
function cellsByPair<V>(make: (a: string, b: string) => V): (a: string, b: string) => V {
  const byFirst = new Map<string, Map<string, V>>();
  return (a, b) => {
    let bySecond = byFirst.get(a);
    if (bySecond === undefined) byFirst.set(a, (bySecond = new Map()));
    let cell = bySecond.get(b);
    if (cell === undefined) bySecond.set(b, (cell = make(a, b)));
    return cell;
  };
}

export function createMetrics(opts: { gateway?: Gateway }): MetricsRegistry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of unfedDefaultMetrics) registry.removeSingleMetric(name);
  const registers = [registry];

  const requests = talliedCounter({
    name: "gatehouse_http_requests_total",
    help: "HTTP requests answered, by route pattern, method and status.",
    labelNames: ["route", "method", "status"] as const,
    registers,
  });
  const requestSeconds = new Histogram({
    name: "gatehouse_http_request_duration_seconds",
    help: "Time from a request's arrival to its answer, by route pattern and method.",
    labelNames: ["route", "method"] as const,
    buckets: requestBuckets,
    registers,
  });
  const toolCalls = talliedCounter({
    name: "gatehouse_tool_calls_total",
    help: "tools/call requests, by tool and outcome (ok, error, denied, timeout, cancelled, input_required).",
    labelNames: ["tool", "outcome"] as const,
    registers,
  });
  const upstreamSeconds = new Histogram({
    name: "gatehouse_upstream_call_duration_seconds",
    help: "Tool calls forwarded to an upstream, by upstream and outcome, with their duration.",
    labelNames: ["upstream", "outcome"] as const,
    buckets: upstreamBuckets,
    registers,
  });
  const refusals = talliedCounter({
    name: "gatehouse_rate_limit_refusals_total",
    help: "Requests refused by a throttle: mcp (per credential), sign_in, registration, device_code.",
    labelNames: ["limiter"] as const,
    registers,
  });
  const tokens = talliedCounter({
    name: "gatehouse_tokens_issued_total",
    help: "Access tokens issued by the token endpoint, by grant type.",
    labelNames: ["grant_type"] as const,
    registers,
  });
  const gateway = opts.gateway;
  new Gauge({
    name: "gatehouse_upstream_state",
    help: "1 for each upstream's current state (starting, connected, failed, stopped), 0 for the others.",
    labelNames: ["upstream", "state"] as const,
    registers,
    collect() {
      this.reset();
      for (const status of gateway?.statuses() ?? [])
        for (const state of upstreamStates) this.set({ upstream: status.name, state }, status.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: "gatehouse_upstream_tools",
    help: "Tools each upstream offers now.",
    labelNames: ["upstream"] as const,
    registers,
    collect() {
      this.reset();
      for (const status of gateway?.statuses() ?? []) this.set({ upstream: status.name }, status.tools);
    },
  });

  const requestCells = cellsByPair((route, method) => ({
    seconds: requestSeconds.labels(route, method),
    byStatus: new Map<number, Tally>(),
    route,
    method,
  }));
  const statusTally = (cells: ReturnType<typeof requestCells>, status: number) => {
    let tally = cells.byStatus.get(status);
    if (tally === undefined) cells.byStatus.set(status, (tally = requests(cells.route, cells.method, String(status))));
    return tally;
  };
  const toolTally = cellsByPair((tool, outcome) => toolCalls(tool, outcome));
  const upstreamCell = cellsByPair((upstream, outcome) => upstreamSeconds.labels(upstream, outcome));
  // Made now, so they are listed (at 0) from the first scrape and a rate over them is defined before the first refusal.
  const refusalTallies = new Map(rateLimiters.map((limiter) => [limiter, refusals(limiter)]));
  const tokenTallies = new Map<string, Tally>();

  return {
    registry,
    request(route, method, status, seconds) {
      const cells = requestCells(route ?? "unmatched", knownMethods.has(method) ? method : "other");
      statusTally(cells, status).count++;
      cells.seconds.observe(seconds);
    },
    toolCall(entry) {
      toolTally(entry.tool ?? "unknown", entry.outcome).count++;
      // A call refused before dispatch has no duration: it never reached the upstream.
      if (entry.upstream == null || entry.durationMs == null) return;
      upstreamCell(entry.upstream, entry.outcome).observe(entry.durationMs / 1000);
    },
    rateLimited(limiter) {
      const tally = refusalTallies.get(limiter);
      if (tally) tally.count++;
    },
    tokenIssued(grantType) {
      let tally = tokenTallies.get(grantType);
      if (tally === undefined) tokenTallies.set(grantType, (tally = tokens(grantType)));
      tally.count++;
    },
  };
}

/**
 * The audit recorder, counting each tool call entry as it passes: every
 * tools/call, built-in or forwarded, answered or refused, on whichever path
 * answers it, is an audit entry (src/audit/tool-calls.ts).
 */
export function countingToolCalls(audit: AuditRecorder, metrics: Metrics): AuditRecorder {
  return {
    ...audit,
    record(entry) {
      if (entry.event === "tool_call") metrics.toolCall(entry);
      audit.record(entry);
    },
  };
}
