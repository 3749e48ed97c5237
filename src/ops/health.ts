import { Elysia } from "elysia";
import type { Db } from "../db/client.ts";

/** /healthz: the process answers. /readyz: the database answers too. */
export function healthRoutes(db: Db) {
  return new Elysia()
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", ({ set }) => {
      try {
        db.$client.query("SELECT 1").get();
        return { status: "ok" };
      } catch {
        set.status = 503;
        return { status: "unavailable", reason: "database" };
      }
    });
}
