// Settings: environment variables, overridden by flags of the same meaning,
// validated once at start. Each error names the setting at fault.

import { defaultPasswordHashCost, type PasswordHashCost } from "./accounts/password-cost.ts";

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Where the data lives: the SQLite file in dataDir (the default), or a PostgreSQL database. */
  database: DatabaseTarget;
  /** Issuer and resource base: an origin, no trailing slash. */
  publicUrl: string;
  configFile: string | null;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  authCodeTtlSeconds: number;
  /**
   * How long the refresh token just rotated away still gets the same new pair
   * (simultaneous refreshes); 0: any reuse of a rotated token revokes its grant.
   */
  refreshGraceSeconds: number;
  rateLimitPerMinute: number;
  /** Redis for the rate limits and throttles every instance shares (issue 16); null: the database, or memory on SQLite. */
  redisUrl: string | null;
  /** Take the client address from the last X-Forwarded-For entry (behind a reverse proxy). */
  trustProxy: boolean;
  /** Browser origins besides the public URL's own that may call /mcp (DNS rebinding defence). */
  allowedOrigins: string[];
  /** How long a tools/call forwarded to an upstream (MCP server or REST API) may take before it is answered with a timeout error. */
  toolTimeoutSeconds: number;
  /** How long audit log entries are kept before the periodic purge deletes them. */
  auditRetentionSeconds: number;
  /** What the audit log keeps of tool call arguments (src/audit/arguments.ts). */
  auditArguments: AuditArgumentsMode;
  /** Serve Prometheus metrics at /metrics, to an admin's API key (docs/metrics.md). */
  metrics: boolean;
  /** argon2id's cost for new password hashes; not a setting: tests lower it. */
  passwordHashCost: PasswordHashCost;
}

export type DatabaseTarget =
  | { kind: "sqlite" }
  | {
      kind: "postgres";
      url: string;
      poolSize: number;
      /** Keep /mcp's auth epoch current by LISTEN/NOTIFY instead of a read per request (src/db/auth-epoch.ts). */
      listen: boolean;
    };

export const auditArgumentsModes = ["none", "redacted", "full"] as const;
export type AuditArgumentsMode = (typeof auditArgumentsModes)[number];

export class ConfigError extends Error {}

interface Setting {
  env: string;
  flag: string;
  help: string;
  default?: string;
}

export const settings = {
  port: { env: "PORT", flag: "--port", help: "port to listen on", default: "8080" },
  host: { env: "GATEHOUSE_HOST", flag: "--host", help: "address to listen on", default: "0.0.0.0" },
  dataDir: {
    env: "GATEHOUSE_DATA_DIR",
    flag: "--data-dir",
    help: "where the SQLite database lives",
    default: "./data",
  },
  databaseUrl: {
    env: "GATEHOUSE_DATABASE_URL",
    flag: "--database-url",
    help: "postgres://user:password@host:5432/name to use PostgreSQL (several instances on one database); unset: the SQLite file in the data directory; DATABASE_URL is read too",
  },
  databasePoolSize: {
    env: "GATEHOUSE_DATABASE_POOL_SIZE",
    flag: "--database-pool-size",
    help: "PostgreSQL connections per instance",
    default: "10",
  },
  databaseListen: {
    env: "GATEHOUSE_DATABASE_LISTEN",
    flag: "--database-listen",
    help: "PostgreSQL only, true: learn of revocations by LISTEN/NOTIFY instead of a read on every /mcp request (needs a direct connection, not a transaction pooler)",
    default: "false",
  },
  publicUrl: {
    env: "GATEHOUSE_PUBLIC_URL",
    flag: "--public-url",
    help: "the URL clients reach Gatehouse at (issuer); https unless loopback",
    default: "http://localhost:$PORT",
  },
  configFile: {
    env: "GATEHOUSE_CONFIG",
    flag: "--config",
    help: "TOML file declaring upstreams (MCP servers, REST APIs by their OpenAPI document) and identity providers",
  },
  accessTokenTtl: {
    env: "GATEHOUSE_ACCESS_TOKEN_TTL",
    flag: "--access-token-ttl",
    help: "access token lifetime",
    default: "3600",
  },
  refreshTokenTtl: {
    env: "GATEHOUSE_REFRESH_TOKEN_TTL",
    flag: "--refresh-token-ttl",
    help: "refresh token lifetime",
    default: "30d",
  },
  authCodeTtl: {
    env: "GATEHOUSE_AUTH_CODE_TTL",
    flag: "--auth-code-ttl",
    help: "authorization code lifetime",
    default: "600",
  },
  refreshGrace: {
    env: "GATEHOUSE_REFRESH_GRACE",
    flag: "--refresh-grace",
    help: "how long a just-rotated refresh token still works, for simultaneous refreshes; 0: any reuse revokes the grant",
    default: "60",
  },
  rateLimitPerMinute: {
    env: "GATEHOUSE_RATE_LIMIT_PER_MINUTE",
    flag: "--rate-limit-per-minute",
    help: "requests a minute per token or API key",
    default: "100",
  },
  redisUrl: {
    env: "GATEHOUSE_REDIS_URL",
    flag: "--redis-url",
    help: "redis:// or rediss:// URL of a Redis keeping the rate limits and throttles all instances share; unset: the database (PostgreSQL) or memory (SQLite)",
  },
  trustProxy: {
    env: "GATEHOUSE_TRUST_PROXY",
    flag: "--trust-proxy",
    help: "true behind a reverse proxy that sets X-Forwarded-For",
    default: "false",
  },
  allowedOrigins: {
    env: "GATEHOUSE_ALLOWED_ORIGINS",
    flag: "--allowed-origins",
    help: "comma-separated browser origins, besides the public URL's, allowed to call /mcp",
  },
  toolTimeout: {
    env: "GATEHOUSE_TOOL_TIMEOUT",
    flag: "--tool-timeout",
    help: "how long a tool call to an upstream (MCP server or REST API) may take",
    default: "60s",
  },
  auditRetention: {
    env: "GATEHOUSE_AUDIT_RETENTION",
    flag: "--audit-retention",
    help: "how long audit log entries are kept",
    default: "90d",
  },
  auditArguments: {
    env: "GATEHOUSE_AUDIT_ARGUMENTS",
    flag: "--audit-arguments",
    help: "tool call arguments in the audit log: none, redacted (secret-looking values hidden, long values cut) or full",
    default: "redacted",
  },
  metrics: {
    env: "GATEHOUSE_METRICS",
    flag: "--metrics",
    help: "true: serve Prometheus metrics at /metrics to an admin's API key as bearer token",
    default: "false",
  },
} satisfies Record<string, Setting>;

type Key = keyof typeof settings;

/** Reads each setting from `flags` (by flag name) or else `env`. */
export function loadConfig(env: Record<string, string | undefined>, flags: Record<string, string> = {}): Config {
  const raw = (key: Key): string | undefined => {
    const s: Setting = settings[key];
    const value = flags[s.flag] ?? env[s.env];
    return value === undefined || value === "" ? s.default : value;
  };
  const port = parseInteger("port", raw("port"), 1, 65535);
  return {
    port,
    host: raw("host")!,
    dataDir: raw("dataDir")!,
    database: parseDatabase(
      // DATABASE_URL is what hosting platforms set; Gatehouse's own name wins.
      raw("databaseUrl") ?? (env.DATABASE_URL || undefined),
      parseInteger("databasePoolSize", raw("databasePoolSize"), 1, 1000),
      parseBoolean("databaseListen", raw("databaseListen")!),
    ),
    publicUrl: parsePublicUrl(flags[settings.publicUrl.flag] ?? env[settings.publicUrl.env] ?? "", port),
    configFile: raw("configFile") ?? null,
    accessTokenTtlSeconds: parseDuration("accessTokenTtl", raw("accessTokenTtl")!),
    refreshTokenTtlSeconds: parseDuration("refreshTokenTtl", raw("refreshTokenTtl")!),
    authCodeTtlSeconds: parseDuration("authCodeTtl", raw("authCodeTtl")!),
    refreshGraceSeconds: parseDuration("refreshGrace", raw("refreshGrace")!, { zero: true }),
    rateLimitPerMinute: parseInteger("rateLimitPerMinute", raw("rateLimitPerMinute"), 1, 1_000_000),
    redisUrl: parseRedisUrl(raw("redisUrl")),
    trustProxy: parseBoolean("trustProxy", raw("trustProxy")!),
    allowedOrigins: parseOrigins("allowedOrigins", raw("allowedOrigins") ?? ""),
    toolTimeoutSeconds: parseDuration("toolTimeout", raw("toolTimeout")!),
    auditRetentionSeconds: parseDuration("auditRetention", raw("auditRetention")!),
    auditArguments: parseChoice("auditArguments", raw("auditArguments")!, auditArgumentsModes),
    metrics: parseBoolean("metrics", raw("metrics")!),
    passwordHashCost: defaultPasswordHashCost,
  };
}

function fail(key: Key, message: string): never {
  const s: Setting = settings[key];
  throw new ConfigError(`${s.env} (${s.flag}): ${message}`);
}

function parseInteger(key: Key, value: string | undefined, min: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value)) fail(key, `expected a whole number, got "${value ?? ""}"`);
  const n = Number(value);
  if (n < min || n > max) fail(key, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A redis:// or rediss:// (TLS) URL with a host; the error never repeats the URL, which may hold a password. */
function parseRedisUrl(value: string | undefined): string | null {
  if (value === undefined) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail("redisUrl", "expected a URL such as redis://localhost:6379");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    fail("redisUrl", `expected redis:// or rediss:// (TLS), got ${url.protocol}//`);
  if (url.hostname === "") fail("redisUrl", "the URL names no host");
  return value;
}

function parseBoolean(key: Key, value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  fail(key, `expected true or false, got "${value}"`);
}

function parseChoice<T extends string>(key: Key, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  fail(key, `expected one of ${choices.join(", ")}, got "${value}"`);
}

const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses "3600", "90s", "15m", "12h" or "30d" into whole seconds, zero included. */
function durationSeconds(value: string): number | null {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * units[match[2] || "s"]!;
  return Number.isSafeInteger(seconds) ? seconds : null;
}

/** Parses "3600", "90s", "15m", "12h" or "30d" into whole seconds; null unless positive. */
export function parseDurationSeconds(value: string): number | null {
  const seconds = durationSeconds(value);
  return seconds !== null && seconds > 0 ? seconds : null;
}

function parseDuration(key: Key, value: string, opts: { zero?: boolean } = {}): number {
  if (opts.zero) {
    const seconds = durationSeconds(value);
    if (seconds === null) fail(key, `expected a duration such as 0, 60, 15m or 1h, got "${value}"`);
    return seconds;
  }
  const seconds = parseDurationSeconds(value);
  if (seconds === null) fail(key, `expected a positive duration such as 3600, 15m, 12h or 30d, got "${value}"`);
  return seconds;
}

/**
 * A postgres:// or postgresql:// URL selects PostgreSQL; TLS and the rest are
 * the URL's own parameters (`?sslmode=require`). The error never repeats the
 * URL: it may carry a password.
 */
function parseDatabase(value: string | undefined, poolSize: number, listen: boolean): DatabaseTarget {
  if (value === undefined) {
    if (listen)
      fail("databaseListen", "LISTEN/NOTIFY is PostgreSQL's: set GATEHOUSE_DATABASE_URL too, or leave this false");
    return { kind: "sqlite" };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail("databaseUrl", "not a URL; expected postgres://user:password@host:5432/database");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    fail(
      "databaseUrl",
      `expected a postgres:// or postgresql:// URL, got a ${url.protocol}// one (unset it to use the SQLite file)`,
    );
  }
  if (url.hostname === "" || url.pathname.length <= 1)
    fail("databaseUrl", "expected postgres://user:password@host:5432/database, with a host and a database name");
  return { kind: "postgres", url: value, poolSize, listen };
}

/** Comma-separated origins (`https://inspector.example`, `http://localhost:6274`), each normalized. */
function parseOrigins(key: Key, value: string): string[] {
  const origins: string[] = [];
  for (const item of value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")) {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      fail(key, `not an origin: "${item}"`);
    }
    const bare = url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
    if ((url.protocol !== "https:" && url.protocol !== "http:") || !bare) {
      fail(
        key,
        `each entry must be an origin such as https://inspector.example or http://localhost:6274, got "${item}"`,
      );
    }
    origins.push(url.origin);
  }
  return origins;
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function parsePublicUrl(value: string, port: number): string {
  if (value === "") return `http://localhost:${port}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail("publicUrl", `not a URL: "${value}"`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    fail("publicUrl", `must be https (http is allowed only for localhost or 127.0.0.1), got "${value}"`);
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) {
    fail(
      "publicUrl",
      `must be an origin such as https://gatehouse.example.com, with no path, query or credentials; got "${value}"`,
    );
  }
  return url.origin;
}
