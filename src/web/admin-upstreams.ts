import { Elysia } from "elysia";
import { AdminUpstreamsPage } from "../../views/admin-upstreams.tsx";
import { adminForPage } from "./admin-guard.ts";
import type { WebDeps } from "../http/deps.ts";

// Settings → Upstreams (MCP servers and REST APIs): admins see each upstream's state, tool
// count, last error and the tools refused for their names (the reasons may
// name hosts and commands, hence admins only).

export function adminUpstreamsRoutes(web: WebDeps) {
  return new Elysia().get("/admin/upstreams", ({ cookie, set }) => {
    const g = adminForPage(web, cookie, set, "/admin/upstreams", "upstream servers");
    if ("response" in g) return g.response;
    set.headers["cache-control"] = "no-store";
    return AdminUpstreamsPage({
      viewer: g.viewer,
      csrf: g.csrf,
      configFile: web.config.configFile,
      upstreams: web.gateway?.statuses() ?? [],
    });
  });
}
