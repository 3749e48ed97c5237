import { Elysia } from "elysia";
import { AdminUpstreamsPage } from "../../views/admin-upstreams.tsx";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards } from "../http/page-guards.ts";

// Settings → Upstreams (MCP servers and REST APIs): admins see each upstream's state, tool
// count, last error and the tools refused for their names (the reasons may
// name hosts and commands, hence admins only).

export function adminUpstreamsRoutes(web: WebDeps, pages: PageGuards) {
  return new Elysia().use(pages).get(
    "/admin/upstreams",
    ({ viewer, csrf, set }) => {
      set.headers["cache-control"] = "no-store";
      return AdminUpstreamsPage({
        viewer,
        csrf,
        configFile: web.config.configFile,
        upstreams: web.gateway?.statuses() ?? [],
        now: web.now(),
      });
    },
    { admin: "upstream servers" },
  );
}
