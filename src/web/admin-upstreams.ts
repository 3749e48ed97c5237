import { Elysia } from "elysia";
import { AdminUpstreamsPage } from "../../views/admin-upstreams.tsx";
import { MessagePage } from "../../views/message.tsx";
import { csrfToken } from "./cookies.ts";
import { signedIn, viewerOf, type WebDeps } from "./context.ts";

// Settings → Upstream MCP servers: admins see each upstream's state, tool
// count and last error (the reasons may name hosts and commands, hence admins only).

export function adminUpstreamsRoutes(web: WebDeps) {
  return new Elysia().get("/admin/upstreams", ({ cookie, set }) => {
    const current = signedIn(web, cookie);
    if (!current) return new Response(null, { status: 303, headers: { location: `/sign-in?next=${encodeURIComponent("/admin/upstreams")}` } });
    if (!current.user.isAdmin) {
      set.status = 403;
      return MessagePage({ title: "Admins only", message: "Only an admin can see the upstream servers.", link: { href: "/", label: "Home" } });
    }
    set.headers["cache-control"] = "no-store";
    return AdminUpstreamsPage({
      viewer: viewerOf(current),
      csrf: csrfToken(cookie, web.secure),
      configFile: web.config.configFile,
      upstreams: web.gateway?.statuses() ?? [],
    });
  });
}
