import { Elysia } from "elysia";
import type { Store } from "../db/store.ts";
import { apiKeyPrefix, authenticateApiKey } from "../keys/api-keys.ts";
import { bearerPattern } from "../mcp/bearer.ts";
import type { MetricsRegistry } from "./metrics.ts";

// GET /metrics, when GATEHOUSE_METRICS is on: the Prometheus text exposition,
// to an admin's API key sent as a bearer token (RFC 6750 §2.1). Not an OAuth
// access token: those are issued for /mcp (RFC 8707) and honoured nowhere
// else. There is no unauthenticated loopback exception: behind a reverse
// proxy on the same host every request arrives from loopback.

export const metricsPath = "/metrics";

const realm = 'Bearer realm="gatehouse-metrics"';

type MetricsAccess =
  | { ok: true }
  | { ok: false; status: 401 | 403; error: string | null; challenge: string; description: string };

/** RFC 6750 §3: 401 with no error code when no credential came, invalid_token for a bad one, 403 insufficient_scope for a non-admin's key. */
async function metricsAccess(db: Store, now: number, authorization: string | null): Promise<MetricsAccess> {
  const refuse = (status: 401 | 403, error: string | null, description: string): MetricsAccess => ({
    ok: false,
    status,
    error,
    challenge: error === null ? realm : `${realm}, error="${error}", error_description="${description}"`,
    description,
  });
  if (authorization === null || authorization.trim() === "")
    return refuse(401, null, "Authorization required: Bearer <API key of an admin>.");
  const token = bearerPattern.exec(authorization)?.[1];
  if (token === undefined || !token.startsWith(apiKeyPrefix))
    return refuse(401, "invalid_token", "The Authorization header must be: Bearer <API key of an admin>.");
  const found = await authenticateApiKey(db, token, now);
  if (found === null) return refuse(401, "invalid_token", "The API key is unknown, expired or revoked.");
  if (!found.user.isAdmin) return refuse(403, "insufficient_scope", "Metrics are for admins: use an admin's API key.");
  return { ok: true };
}

export function metricsRoutes(deps: { db: Store; now: () => number; metrics: MetricsRegistry }) {
  const { registry } = deps.metrics;
  return new Elysia().get(metricsPath, async ({ request }) => {
    const access = await metricsAccess(deps.db, deps.now(), request.headers.get("authorization"));
    if (!access.ok) {
      const body = { ...(access.error !== null && { error: access.error }), error_description: access.description };
      const headers = { "cache-control": "no-store", "www-authenticate": access.challenge };
      return Response.json(body, { status: access.status, headers });
    }
    return new Response(await registry.metrics(), {
      headers: { "content-type": registry.contentType, "cache-control": "no-store" },
    });
  });
}
