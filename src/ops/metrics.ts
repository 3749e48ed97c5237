import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AuditEntry } from "../audit/entry.ts";
import type { AuditRecorder } from "../audit/recorder.ts";
import type { Gateway } from "../gateway/gateway.ts";
import type { UpstreamState } from "../gateway/upstream.ts";

// Prometheus metrics (GATEHOUSE_METRICS, docs/metrics.md). Each app has a
// registry of its own, never prom-client's global one: tests make many apps
// in one process, and each must count only its own requests.
//
// On the hot path a request costs a few Map lookups, one counter increment
// and one histogram observe: the labelled child of each label set is made
// once and kept in nested Maps (route, then method, then status), so no label
// object or joined key is built per request. Every label value is bounded:
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

/** The value `make(key)` gave for `key` the first time it was asked for. */
function cached<K, V>(map: Map<K, V>, key: K, make: (key: K) => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make(key);
    map.set(key, value);
  }
  return value;
}

export function createMetrics(opts: { gateway?: Gateway }): MetricsRegistry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of unfedDefaultMetrics) registry.removeSingleMetric(name);
  const registers = [registry];

  const requests = new Counter({
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
  const toolCalls = new Counter({
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
  const refusals = new Counter({
    name: "gatehouse_rate_limit_refusals_total",
    help: "Requests refused by a throttle: mcp (per credential), sign_in, registration, device_code.",
    labelNames: ["limiter"] as const,
    registers,
  });
  const tokens = new Counter({
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

  type RequestCells = { seconds: Histogram.Internal<"route" | "method">; byStatus: Map<number, Counter.Internal> };
  const requestCells = new Map<string, Map<string, RequestCells>>();
  const toolCells = new Map<string, Map<string, Counter.Internal>>();
  const upstreamCells = new Map<string, Map<string, Histogram.Internal<"upstream" | "outcome">>>();
  const refusalCells = new Map(rateLimiters.map((limiter) => [limiter, refusals.labels(limiter)]));
  // Listed at 0 from the start, so a rate over them is defined before the first refusal.
  for (const cell of refusalCells.values()) cell.inc(0);
  const tokenCells = new Map<string, Counter.Internal>();

  return {
    registry,
    request(route, method, status, seconds) {
      const r = route ?? "unmatched";
      const m = knownMethods.has(method) ? method : "other";
      const cells = cached(
        cached(requestCells, r, () => new Map()),
        m,
        () => ({
          seconds: requestSeconds.labels(r, m),
          byStatus: new Map(),
        }),
      );
      cached(cells.byStatus, status, () => requests.labels(r, m, String(status))).inc();
      cells.seconds.observe(seconds);
    },
    toolCall(entry) {
      const tool = entry.tool ?? "unknown";
      cached(
        cached(toolCells, tool, () => new Map()),
        entry.outcome,
        (o) => toolCalls.labels(tool, o),
      ).inc();
      // A call refused before dispatch has no duration: it never reached the upstream.
      if (entry.upstream == null || entry.durationMs == null) return;
      const upstream = entry.upstream;
      const byOutcome = cached(upstreamCells, upstream, () => new Map());
      cached(byOutcome, entry.outcome, (o) => upstreamSeconds.labels(upstream, o)).observe(entry.durationMs / 1000);
    },
    rateLimited(limiter) {
      refusalCells.get(limiter)?.inc();
    },
    tokenIssued(grantType) {
      cached(tokenCells, grantType, (g) => tokens.labels(g)).inc();
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
