import { Elysia, type Context } from "elysia";
import { listAuditEvents, type AuditFilter, type AuditListRow } from "../audit/audit-store.ts";
import { auditEvents, auditOutcomes } from "../audit/entry.ts";
import { auditJsonLines } from "../audit/export.ts";
import { auditQueryString, readAuditQuery } from "../audit/filters.ts";
import { AuditPage, type AuditRowView } from "../../views/audit.tsx";
import type { PageGuards, SignedInContext } from "../http/page-guards.ts";
import { actsAsAdmin, signedIn } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";

// The audit log: /admin/audit and its JSON lines export for admins,
// /activity for every signed-in user (their own entries only).

const pageSize = 50;

function emailTried(detail: string | null): string | null {
  if (detail === null) return null;
  try {
    const email = (JSON.parse(detail) as { email?: unknown }).email;
    return typeof email === "string" ? email : null;
  } catch {
    return null;
  }
}

function rowView(r: AuditListRow): AuditRowView {
  return {
    id: r.id,
    at: r.at,
    event: r.event,
    outcome: r.outcome,
    user: r.email ?? (r.userId === null ? emailTried(r.detail) : r.userId),
    via: r.clientId !== null ? `client ${r.clientId}` : r.apiKeyId !== null ? `key ${r.apiKeyId}` : null,
    tool: r.tool,
    upstream: r.upstream,
    durationMs: r.durationMs,
    requestId: r.requestId,
    ip: r.ip,
    detail: r.detail,
  };
}

/** The `before` cursor: a positive entry id, else none. */
function cursorOf(params: URLSearchParams): number | undefined {
  const value = params.get("before") ?? "";
  return /^[1-9]\d{0,15}$/.test(value) ? Number(value) : undefined;
}

export function auditRoutes(web: WebDeps, pages: PageGuards) {
  const retentionDays = Math.round(web.config.auditRetentionSeconds / 86400);

  /** The audit page for a guarded request (admin or signed in, per route); `set` takes the status and no-store. */
  const page = (g: SignedInContext & Pick<Context, "request" | "set">, scope: "admin" | "own") => {
    const { current, set } = g;
    const path = scope === "admin" ? "/admin/audit" : "/activity";
    const url = new URL(g.request.url);
    set.headers["cache-control"] = "no-store";
    const { query, filter, problem } = readAuditQuery(url.searchParams);
    if (scope === "own") {
      query.user = "";
      delete filter.email;
      filter.userId = current.user.id;
    }
    if (problem) set.status = 400;
    const rows = problem
      ? []
      : listAuditEvents(web.db, filter, { beforeId: cursorOf(url.searchParams), limit: pageSize + 1 });
    const more = rows.length > pageSize;
    const shown = rows.slice(0, pageSize);
    return AuditPage({
      viewer: g.viewer,
      csrf: g.csrf,
      scope,
      action: path,
      query,
      events: auditEvents,
      outcomes: auditOutcomes,
      rows: shown.map(rowView),
      olderHref: more ? `${path}${auditQueryString(query, { before: String(shown.at(-1)!.id) })}` : null,
      ...(scope === "admin" && { exportHref: `/admin/audit.jsonl${auditQueryString(query)}` }),
      ...(problem && { error: problem }),
      retentionDays,
      now: web.now(),
    });
  };

  return new Elysia()
    .use(pages)
    .get("/admin/audit", (ctx) => page(ctx, "admin"), { admin: "the audit log" })
    .get("/activity", (ctx) => page(ctx, "own"), { signedIn: true })
    .get("/admin/audit.jsonl", ({ request, cookie }) => {
      const current = signedIn(web, cookie);
      const plain = (status: number, text: string) =>
        new Response(`${text}\n`, {
          status,
          headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
        });
      if (!current) return plain(401, "Sign in as an admin to export the audit log.");
      if (!actsAsAdmin(current))
        return plain(403, "Only an admin signed in with a password or an identity provider can export the audit log.");
      const { filter, problem } = readAuditQuery(new URL(request.url).searchParams);
      if (problem) return plain(400, problem);
      return new Response(auditJsonLines(web.db, filter satisfies AuditFilter), {
        headers: {
          "content-type": "application/x-ndjson; charset=utf-8",
          "content-disposition": `attachment; filename="gatehouse-audit-${new Date(web.now() * 1000).toISOString().slice(0, 10)}.jsonl"`,
          "cache-control": "no-store",
        },
      });
    });
}
