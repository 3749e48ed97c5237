import { Elysia } from "elysia";
import { ping } from "../db/operations.ts";
import type { Store } from "../db/store.ts";
import type { Gateway } from "../gateway/gateway.ts";

/**
 * /healthz: the process answers. /readyz: the database answers too, and the
 * body lists each upstream's state. A down upstream does not make /readyz
 * fail: Gatehouse still serves everything else, and a failing readiness
 * check would have the container restarted in a loop.
 */
export function healthRoutes(db: Store, gateway?: Gateway) {
  const upstreams = () =>
    gateway && {
      upstreams: gateway.statuses().map((s) => ({
        name: s.name,
        state: s.state,
        tools: s.tools,
        ...(s.instances && { instances: s.instances }),
        ...(s.state !== "connected" && s.reason !== null && { reason: s.reason }),
      })),
    };
  return new Elysia()
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", async ({ set }) => {
      try {
        await ping(db);
        return { status: "ok", ...upstreams() };
      } catch {
        set.status = 503;
        return { status: "unavailable", reason: "database", ...upstreams() };
      }
    });
}
