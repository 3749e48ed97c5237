import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PasswordHashCost } from "../src/accounts/password-cost.ts";
import { createApp } from "../src/app.ts";
import { createAuditRecorder, type AuditRecorder } from "../src/audit/recorder.ts";
import { loadConfig, type Config } from "../src/config.ts";
import { openStore } from "../src/db/open.ts";
import type { Store } from "../src/db/store.ts";
import type { GatewayConfig } from "../src/gateway/config.ts";
import type { IdentityProviderConfig } from "../src/identity/config.ts";
import type { PolicyRule } from "../src/mcp/policy-config.ts";
import { Gateway } from "../src/gateway/gateway.ts";
import { closeStore, migrateStore } from "../src/db/operations.ts";
import { createLogger, type Logger } from "../src/log.ts";
import { freshTestDatabase } from "./support/store.ts";
import { addSetupToken } from "../src/accounts/setup-tokens-store.ts";
import { transaction } from "../src/db/transaction.ts";
import { hashSecret } from "../src/security/tokens.ts";

/** argon2id at 64 KiB and one pass: milliseconds instead of a second per hash (production: password-cost.ts). */
export const testPasswordHashCost: PasswordHashCost = { memoryKib: 64, iterations: 1 };

export function tempDir(prefix = "gatehouse-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A port nobody listens on right now. */
export function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

export interface TestApp {
  url: string;
  config: Config;
  db: Store;
  dataDir: string;
  /** GATEHOUSE_DATABASE_URL of the app's database on PostgreSQL, for a process started on it; empty on SQLite. */
  databaseEnv: Record<string, string>;
  setupToken: string | null;
  /** Log lines written so far, parsed. */
  logs: Record<string, unknown>[];
  /** The upstream gateway, when the app was made with one. */
  gateway?: Gateway;
  /** The app's audit log writer: flush() to see waiting entries in the database. */
  audit: AuditRecorder;
  /** Answers a request: over the loopback socket when the app listens, else in-process with Elysia's `app.handle`. */
  send(request: Request): Promise<Response>;
  /** `send` for a path under `url`; redirects are returned, not followed, either way. */
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The real app on a real SQLite file in a temp dir (or a fresh PostgreSQL
 * database: test/support/store.ts), listening on a loopback
 * port unless `listen: false`. `now` defaults to the wall clock, so
 * `setSystemTime` moves it.
 */
export async function createTestApp(
  opts: {
    env?: Record<string, string>;
    setupToken?: string | null;
    now?: () => number;
    gateway?: GatewayConfig;
    identityProviders?: IdentityProviderConfig[];
    /** Admin [[policy]] rules. */
    policies?: PolicyRule[];
    /** Listen on this port (default: a free one), e.g. one registered at a provider beforehand. */
    port?: number;
    /**
     * false: no socket; requests go through `send`/`request` (or a Browser made
     * with `app.send`) in-process. The client address is then "unknown".
     */
    listen?: boolean;
    /** Whether /mcp answers plain tools/call itself; flip `enabled` to send a call through the SDK. */
    directToolCalls?: { enabled: boolean; answered?: number };
  } = {},
): Promise<TestApp> {
  const dataDir = tempDir();
  const port = opts.port ?? freePort();
  const database = await freshTestDatabase();
  const env = {
    GATEHOUSE_DATA_DIR: dataDir,
    PORT: String(port),
    GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    ...database.env,
    ...opts.env,
  };
  const config: Config = { ...loadConfig(env), passwordHashCost: testPasswordHashCost };
  const db = openStore(config);
  await migrateStore(db);
  const logs: Record<string, unknown>[] = [];
  const log: Logger = createLogger((line) => logs.push(JSON.parse(line)));
  const setupToken = opts.setupToken === undefined ? null : opts.setupToken;
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  // As if the server had logged this setup link at its start (src/accounts/setup-link.ts).
  if (setupToken !== null) await transaction(db, (tx) => addSetupToken(tx, hashSecret(setupToken), now()));
  // Upstreams, when given, reconnect fast so tests see a restart within a second or two.
  const gateway =
    opts.gateway &&
    new Gateway({
      config: opts.gateway,
      log,
      toolTimeoutSeconds: config.toolTimeoutSeconds,
      backoff: { firstMs: 200, maxMs: 2000 },
    });
  gateway?.start();
  const audit = createAuditRecorder({ db, log, now, argumentsMode: config.auditArguments });
  const app = createApp({
    config,
    db,
    log,
    now,
    audit,
    identityProviders: opts.identityProviders ?? [],
    policies: opts.policies ?? [],
    ...(opts.directToolCalls && { directToolCalls: opts.directToolCalls }),
    ...(gateway && { gateway }),
  });
  const listening = opts.listen ?? true;
  if (listening) app.listen({ port, hostname: "127.0.0.1" });
  const send = listening ? (request: Request) => fetch(request) : (request: Request) => app.handle(withHost(request));
  return {
    url: config.publicUrl,
    config,
    db,
    dataDir,
    databaseEnv: database.env,
    setupToken,
    logs,
    gateway,
    audit,
    send,
    request: (path, init) => send(new Request(config.publicUrl + path, { redirect: "manual", ...init })),
    async close() {
      if (listening) await app.stop(true);
      await gateway?.stop();
      await closeStore(db);
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The request with the Host header fetch would send: /mcp checks it against the public URL (DNS rebinding). */
function withHost(request: Request): Request {
  if (request.headers.has("host")) return request;
  const headers = new Headers(request.headers);
  headers.set("host", new URL(request.url).host);
  return new Request(request, { headers });
}

/**
 * A tiny cookie jar over fetch, for driving the pages like a browser would
 * (without JS); `send` is `app.send` for an app made with `listen: false`.
 */
export class Browser {
  cookies = new Map<string, string>();
  constructor(
    readonly base: string,
    readonly send: (request: Request) => Promise<Response> = fetch,
  ) {}

  async request(path: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    let body = init.body;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers.set("content-type", "application/x-www-form-urlencoded");
      if (!headers.has("origin")) headers.set("origin", new URL(this.base).origin);
    }
    const url = new URL(path, this.base);
    // Only the app's own pages go through `send`; another site (an identity provider) is fetched.
    const send = url.origin === new URL(this.base).origin ? this.send : fetch;
    const res = await send(new Request(url, { ...init, headers, body, redirect: "manual" }));
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (value === "" || /max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  get(path: string) {
    return this.request(path);
  }

  post(path: string, form: Record<string, string>, headers?: Record<string, string>) {
    return this.request(path, { method: "POST", form, headers });
  }

  /** The CSRF form token from a page, read from its hidden input. */
  static csrfOf(html: string): string {
    const match = /name="csrf" value="([a-z2-7]+)"/.exec(html);
    if (!match) throw new Error("no csrf field on the page");
    return match[1]!;
  }
}
