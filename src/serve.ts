import { issueSetupToken } from "./accounts/setup-link.ts";
import { createApp } from "./app.ts";
import { createAuditRecorder } from "./audit/recorder.ts";
import type { Config } from "./config.ts";
import { listenForAuthEpoch } from "./db/auth-epoch.ts";
import { closeStore } from "./db/operations.ts";
import type { Store } from "./db/store.ts";
import type { GatewayConfig } from "./gateway/config.ts";
import { Gateway } from "./gateway/gateway.ts";
import type { IdentityProviderConfig } from "./identity/config.ts";
import type { Logger } from "./log.ts";
import type { PolicyRule } from "./mcp/policy-config.ts";
import { purgeOnce } from "./ops/purge.ts";

const purgeIntervalMs = 10 * 60 * 1000;
const now = () => Math.floor(Date.now() / 1000);

export interface Running {
  url: string;
  /** Resolves once the server has stopped after a signal or stop(). */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Listens until SIGTERM or SIGINT, then stops accepting, lets requests in
 * flight finish, closes the upstream connections (ending stdio children),
 * writes the audit entries still waiting and closes the database. Upstreams
 * connect in the background: a slow or failing one never delays or stops the
 * start.
 */
export async function serve(
  config: Config,
  db: Store,
  log: Logger,
  gatewayConfig: GatewayConfig | null = null,
  identityProviders: IdentityProviderConfig[] = [],
  policies: PolicyRule[] = [],
): Promise<Running> {
  const setupToken = await issueSetupToken(db, now());
  const gateway = gatewayConfig
    ? new Gateway({ config: gatewayConfig, log, toolTimeoutSeconds: config.toolTimeoutSeconds })
    : undefined;
  gateway?.start();
  // Audit batches are written on a thread of their own, off the request path.
  const audit = createAuditRecorder({ db, log, now, argumentsMode: config.auditArguments, thread: true });
  const epochFeed = config.database.kind === "postgres" && config.database.listen ? await listenForAuthEpoch(db) : null;
  const app = createApp({
    config,
    db,
    log,
    now,
    audit,
    identityProviders,
    policies,
    ...(gateway && { gateway }),
    ...(epochFeed && { authEpoch: epochFeed.read }),
  });
  app.listen({ port: config.port, hostname: config.host, maxRequestBodySize: 1024 * 1024 });
  const purge = setInterval(() => {
    purgeOnce(db, log, now(), config.auditRetentionSeconds).catch((error: unknown) =>
      log.error("purge failed", { error: String(error) }),
    );
  }, purgeIntervalMs);
  purge.unref();

  log.info("listening", { url: config.publicUrl, address: `${config.host}:${app.server?.port}` });
  if (setupToken) {
    // The one log line that carries a secret, on purpose: it is how the first admin gets in.
    log.warn("no admin yet: open the setup link to create one", {
      setup_url: `${config.publicUrl}/setup?token=${setupToken}`,
    });
  }

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(purge);
      await app.stop(false);
      await gateway?.stop();
      await audit.close();
      await epochFeed?.close();
      await closeStore(db);
      log.info("stopped");
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      resolveStopped();
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    log.info("shutting down", { signal });
    void stop();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return { url: config.publicUrl, stopped, stop };
}
