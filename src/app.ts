import { html } from "@elysiajs/html";
import { Elysia } from "elysia";
import { createAuditRecorder } from "./audit/recorder.ts";
import type { AppDeps, AppInput, WebDeps } from "./http/deps.ts";
import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import type { Gateway } from "./gateway/gateway.ts";
import type { IdentityProviderConfig } from "./identity/config.ts";
import { identityRoutes } from "./identity/routes.ts";
import type { Logger } from "./log.ts";
import { mcpRoutes } from "./mcp/endpoint.ts";
import { resourceMetadataRoutes } from "./mcp/resource-metadata.ts";
import type { PolicyRule } from "./mcp/policy-config.ts";
import { createToolCatalogue } from "./mcp/server.ts";
import { builtinTools } from "./mcp/tools/builtin.ts";
import { authorizeRoutes } from "./oauth/authorize.ts";
import { bridgeRoutes } from "./oauth/bridge-routes.ts";
import { deviceAuthorizationRoutes } from "./oauth/device-authorization.ts";
import { deviceVerificationRoutes } from "./oauth/device-verification.ts";
import { introspectRoutes } from "./oauth/introspect.ts";
import { metadataRoutes } from "./oauth/metadata.ts";
import { registerRoutes } from "./oauth/register.ts";
import { revokeRoutes } from "./oauth/revoke.ts";
import { tokenRoutes } from "./oauth/token.ts";
import { healthRoutes } from "./ops/health.ts";
import { createRateLimiter } from "./security/rate-limit.ts";
import { randomString } from "./security/tokens.ts";
import { adminPeopleRoutes } from "./web/admin-people.ts";
import { adminServiceAccountsRoutes } from "./web/admin-service-accounts.ts";
import { adminUpstreamsRoutes } from "./web/admin-upstreams.ts";
import { auditRoutes } from "./web/audit-pages.ts";
import { clientPagesRoutes } from "./web/client-pages.ts";
import { assetRoutes } from "./web/assets.ts";
import { sessionCookieName } from "./web/context.ts";
import { inviteRoutes } from "./web/invite.ts";
import { keysRoutes } from "./web/keys.ts";
import { setupRoutes } from "./web/setup.ts";
import { signInRoutes } from "./web/sign-in.ts";
import { MessagePage } from "../views/message.tsx";

const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

const signInWindowSeconds = 15 * 60;

/**
 * The status Elysia sent: a returned Response's own status (a redirect) wins
 * unless it is 200, as with pages the html plugin wraps; then `set.status` does.
 */
function sentStatus(setStatus: number | string | undefined, value: unknown): number {
  if (value instanceof Response && value.status !== 200) return value.status;
  return Number(setStatus ?? 200);
}

export function createApp(input: AppInput) {
  const deps: AppDeps = {
    ...input,
    audit: input.audit ?? createAuditRecorder({ db: input.db, log: input.log, now: input.now, argumentsMode: input.config.auditArguments }),
  };
  const secure = new URL(deps.config.publicUrl).protocol === "https:";
  // The one tool catalogue: /mcp serves it, and the consent and API keys pages offer its write tools.
  const catalogue = createToolCatalogue(builtinTools(deps), deps.gateway ?? null, deps.audit);
  const web: WebDeps = {
    ...deps,
    catalogue,
    secure,
    sessionCookie: sessionCookieName(secure),
    signInFailures: {
      perAccount: createRateLimiter({ limit: 5, windowSeconds: signInWindowSeconds, now: deps.now }),
      perAddress: createRateLimiter({ limit: 20, windowSeconds: signInWindowSeconds, now: deps.now }),
    },
  };
  const started = new WeakMap<Request, { id: string; at: number }>();
  const requestId = (request: Request) => started.get(request)?.id ?? "";

  return new Elysia()
    .use(html())
    // After the server stops (requests in flight done), the waiting audit entries are written.
    .onStop(() => void deps.audit.close())
    .onRequest(({ request, set }) => {
      // Accept a caller's request id only when it is short and plain.
      const incoming = request.headers.get("x-request-id");
      const id = incoming && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomString(10);
      started.set(request, { id, at: performance.now() });
      Object.assign(set.headers, securityHeaders, { "x-request-id": id });
    })
    .onAfterResponse(({ request, set, responseValue }) => {
      const start = started.get(request);
      deps.log.info("request", {
        method: request.method,
        path: new URL(request.url).pathname,
        status: sentStatus(set.status, responseValue),
        duration_ms: start ? Math.round((performance.now() - start.at) * 100) / 100 : null,
        request_id: start?.id,
      });
    })
    .onError(({ code, error, request, set }) => {
      if (code === "NOT_FOUND") {
        set.status = 404;
        return MessagePage({ title: "Not found", message: "There is no page at this address.", link: { href: "/", label: "Home" } });
      }
      if (code === "PARSE" || code === "VALIDATION") {
        set.status = 400;
        return MessagePage({ title: "Bad request", message: "The request could not be read.", requestId: requestId(request) });
      }
      set.status = 500;
      deps.log.error("unhandled error", {
        request_id: requestId(request),
        path: new URL(request.url).pathname,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return MessagePage({
        title: "Something went wrong",
        message: "Gatehouse hit an unexpected error. The request id below is in the server log.",
        requestId: requestId(request),
      });
    })
    .use(healthRoutes(deps.db, deps.gateway))
    .use(metadataRoutes(deps.config.publicUrl))
    .use(resourceMetadataRoutes(deps.config.publicUrl))
    .use(assetRoutes())
    .use(signInRoutes(web))
    .use(identityRoutes(web))
    .use(setupRoutes(web))
    .use(inviteRoutes(web))
    .use(keysRoutes(web))
    .use(registerRoutes(web))
    .use(clientPagesRoutes(web, "admin"))
    .use(clientPagesRoutes(web, "own"))
    .use(adminPeopleRoutes(web))
    .use(adminServiceAccountsRoutes(web))
    .use(adminUpstreamsRoutes(web))
    .use(auditRoutes(web))
    .use(authorizeRoutes(web))
    .use(deviceAuthorizationRoutes(deps))
    .use(deviceVerificationRoutes(web))
    .use(tokenRoutes(deps))
    .use(bridgeRoutes(deps))
    .use(revokeRoutes(deps))
    .use(introspectRoutes(deps))
    .use(mcpRoutes(deps, catalogue));
}
