import { html } from "@elysiajs/html";
import { Elysia } from "elysia";
import { createAuditRecorder } from "./audit/recorder.ts";
import type { AppDeps, AppInput, WebDeps } from "./http/deps.ts";
import { pageGuards } from "./http/page-guards.ts";
import { requestContext } from "./http/request-context.ts";
import { identityRoutes } from "./identity/routes.ts";
import { mcpRoutes } from "./mcp/endpoint.ts";
import { resourceMetadataRoutes } from "./mcp/resource-metadata.ts";
import { createToolCatalogue } from "./mcp/server.ts";
import { builtinTools } from "./mcp/tools/builtin.ts";
import { authorizeRoutes } from "./oauth/endpoints/authorize.ts";
import { deviceVerificationRoutes } from "./oauth/endpoints/device-verification.ts";
import { bridgeCallbackRoutes } from "./oauth/endpoints/bridge-callback.ts";
import { bridgePollRoutes } from "./oauth/endpoints/bridge-poll.ts";
import { deviceAuthorizationRoutes } from "./oauth/endpoints/device-authorization.ts";
import { introspectRoutes } from "./oauth/endpoints/introspect.ts";
import { metadataRoutes } from "./oauth/endpoints/metadata.ts";
import { registerRoutes } from "./oauth/endpoints/register.ts";
import { revokeRoutes } from "./oauth/endpoints/revoke.ts";
import { tokenRoutes } from "./oauth/endpoints/token.ts";
import { healthRoutes } from "./ops/health.ts";
import { countingToolCalls, createMetrics, noMetrics } from "./ops/metrics.ts";
import { metricsRoutes } from "./ops/metrics-routes.ts";
import { cspHeader, pageCsp } from "./security/csp.ts";
import { selectRateCounters } from "./security/rate-counters.ts";
import { postgresClientOf } from "./db/store.ts";
import { createRateLimiter } from "./security/rate-limit.ts";
import { adminPeopleRoutes } from "./web/admin-people.ts";
import { adminServiceAccountsRoutes } from "./web/admin-service-accounts.ts";
import { adminUpstreamsRoutes } from "./web/admin-upstreams.ts";
import { auditRoutes } from "./web/audit-pages.ts";
import { clientPagesRoutes } from "./web/client-pages.ts";
import { assetRoutes } from "./web/assets.ts";
import { sessionCookieName } from "./web/context.ts";
import { inviteRoutes } from "./web/invite.ts";
import { keysRoutes } from "./web/keys.ts";
import { connectionRevokeRoutes } from "./web/connection-revoke.ts";
import { setupRoutes } from "./web/setup.ts";
import { signInRoutes } from "./web/sign-in.ts";

const securityHeaders = {
  "content-security-policy": cspHeader(pageCsp),
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

const signInWindowSeconds = 15 * 60;

export function createApp(input: AppInput) {
  const audit =
    input.audit ??
    createAuditRecorder({ db: input.db, log: input.log, now: input.now, argumentsMode: input.config.auditArguments });
  // A registry per app (GATEHOUSE_METRICS); off, nothing is counted and /metrics is an unknown path.
  const metrics = input.config.metrics ? createMetrics({ gateway: input.gateway }) : null;
  const deps: AppDeps = {
    ...input,
    audit: metrics ? countingToolCalls(audit, metrics) : audit,
    metrics: metrics ?? noMetrics,
    rateCounters: selectRateCounters(input.config, postgresClientOf(input.db)),
  };
  const secure = new URL(deps.config.publicUrl).protocol === "https:";
  const signInFailures = { windowSeconds: signInWindowSeconds, now: deps.now, counters: deps.rateCounters };
  // The one tool catalogue: /mcp serves it, and the consent and API keys pages offer its write tools.
  const catalogue = createToolCatalogue(builtinTools(deps), deps.gateway ?? null, deps.audit);
  const web: WebDeps = {
    ...deps,
    catalogue,
    secure,
    sessionCookie: sessionCookieName(secure),
    signInFailures: {
      perAccount: createRateLimiter({ ...signInFailures, limit: 5, prefix: "sign-in:account" }),
      perAddress: createRateLimiter({ ...signInFailures, limit: 20, prefix: "sign-in:address" }),
    },
  };
  const context = requestContext(deps);
  const pages = pageGuards(web, context);

  return (
    new Elysia()
      .use(html())
      // After the server stops (requests in flight done), the waiting audit entries are written,
      // and a Redis connection for the rate counters is closed.
      .onStop(() => {
        void deps.audit.close();
        deps.rateCounters.close();
      })
      .onRequest(({ set }) => {
        Object.assign(set.headers, securityHeaders);
      })
      .use(context)
      .use(healthRoutes(deps.db, deps.gateway))
      .use(metrics ? metricsRoutes({ db: deps.db, now: deps.now, metrics }) : new Elysia())
      .use(metadataRoutes(deps.config.publicUrl))
      .use(resourceMetadataRoutes(deps.config.publicUrl))
      .use(assetRoutes())
      .use(signInRoutes(web, pages))
      .use(identityRoutes(web, pages))
      .use(setupRoutes(web, pages))
      .use(inviteRoutes(web, pages))
      .use(keysRoutes(web, pages))
      .use(connectionRevokeRoutes(web, pages))
      .use(registerRoutes(web, context))
      .use(clientPagesRoutes(web, pages, "admin"))
      .use(clientPagesRoutes(web, pages, "own"))
      .use(adminPeopleRoutes(web, pages))
      .use(adminServiceAccountsRoutes(web, pages))
      .use(adminUpstreamsRoutes(web, pages))
      .use(auditRoutes(web, pages))
      .use(authorizeRoutes(web, pages))
      .use(deviceAuthorizationRoutes(deps, context))
      .use(deviceVerificationRoutes(web, pages))
      .use(tokenRoutes(deps, context))
      .use(bridgeCallbackRoutes(deps))
      .use(bridgePollRoutes(deps, context))
      .use(revokeRoutes(deps, context))
      .use(introspectRoutes(deps, context))
      .use(mcpRoutes(deps, catalogue, context))
  );
}
