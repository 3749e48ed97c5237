import type { AuditRecorder } from "../audit/recorder.ts";
import type { Config } from "../config.ts";
import type { Store } from "../db/store.ts";
import type { AuthEpochSource } from "../db/auth-epoch.ts";
import type { Gateway } from "../gateway/gateway.ts";
import type { IdentityProviderConfig } from "../identity/config.ts";
import type { Logger } from "../log.ts";
import type { PolicyRule } from "../mcp/policy-config.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { ToolCatalogue } from "../mcp/server.ts";
import type { RateCounters, RateLimiter } from "../security/rate-limit.ts";

// What the routes are built from. Here rather than in app.ts, so a route
// module never imports the module that assembles the routes.

export interface AppDeps {
  config: Config;
  db: Store;
  log: Logger;
  /** Unix seconds. */
  now: () => number;
  /** The upstream MCP servers; absent when none are configured. */
  gateway?: Gateway;
  /** The audit log writer, one per app; flushed and closed when the app stops. */
  audit: AuditRecorder;
  /** Identity providers people sign in through ([[identity_provider]] in GATEHOUSE_CONFIG). */
  identityProviders?: IdentityProviderConfig[];
  /** Admin argument limits ([[policy]] in GATEHOUSE_CONFIG). */
  policies?: PolicyRule[];
  /**
   * Whether /mcp answers plain tools/call requests itself (src/mcp/direct-call.ts)
   * rather than through the SDK; on unless set false. An object, so the
   * differential test can send one call both ways through one app and count
   * the calls answered directly (`answered`, when present).
   */
  directToolCalls?: { enabled: boolean; answered?: number };
  /** Prometheus counters (GATEHOUSE_METRICS); hooks that do nothing when metrics are off. */
  metrics: Metrics;
  /** How /mcp's credential cache learns the auth epoch; absent: a read once per event-loop turn (GATEHOUSE_DATABASE_LISTEN). */
  authEpoch?: AuthEpochSource;
  /** Where every rate limit and throttle counts (src/security/rate-counters.ts); each limiter keeps its own key prefix. */
  rateCounters: RateCounters;
}

/** What createApp needs; it makes the audit recorder itself when none is given, the metrics and the rate counters from the config. */
export type AppInput = Omit<AppDeps, "audit" | "metrics" | "rateCounters"> & { audit?: AuditRecorder };

/** What the page routes share: the app's dependencies plus values derived once. */
export interface WebDeps extends AppDeps {
  secure: boolean;
  sessionCookie: string;
  signInFailures: { perAccount: RateLimiter; perAddress: RateLimiter };
  /** The tools /mcp offers; read when a page is drawn, since upstream tools come and go. */
  catalogue: ToolCatalogue;
}
