import { Elysia, type Context } from "elysia";
import { countAuditEvents, listAuditEvents, type AuditFilter, type AuditListRow } from "../audit/audit-store.ts";
import { auditDetailText } from "../audit/detail-text.ts";
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
  const email = r.email ?? (r.userId === null ? emailTried(r.detail) : null);
  const via = r.clientId ?? r.apiKeyId;
  return {
    id: r.id,
    at: r.at,
    event: r.event,
    outcome: r.outcome,
    user: email ?? r.userId,
    userEmail: email,
    via: via === null ? null : { kind: r.clientId !== null ? "client" : "key", id: via },
    tool: r.tool,
    upstream: r.upstream,
    durationMs: r.durationMs,
    requestId: r.requestId,
    ip: r.ip,
    detail: r.detail === null ? null : auditDetailText(r.detail),
  };
}

/** A page cursor (`before` or `after`): a positive entry id, else none. */
function cursorOf(params: URLSearchParams, name: "before" | "after"): number | undefined {
  const value = params.get(name) ?? "";
  return /^[1-9]\d{0,15}$/.test(value) ? Number(value) : undefined;
}

/** The export's refusals, as JSON (the export is JSON lines), never stored by a cache. */
function exportError(status: number, body: Record<string, unknown>): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store" } });
}

export function auditRoutes(web: WebDeps, pages: PageGuards) {
  const retentionDays = Math.round(web.config.auditRetentionSeconds / 86400);

  /**
   * One page of entries: older than `before`, newer than `after`, or the newest. A page of
   * newer entries that reaches the newest is the newest page, full, rather than a short one.
   */
  const pageOf = async (filter: AuditFilter, params: URLSearchParams) => {
    const beforeId = cursorOf(params, "before");
    const afterId = beforeId === undefined ? cursorOf(params, "after") : undefined;
    const rows = await listAuditEvents(web.db, filter, { beforeId, afterId, limit: pageSize });
    return afterId !== undefined && rows.length < pageSize
      ? listAuditEvents(web.db, filter, { limit: pageSize })
      : rows;
  };

  /** The audit page for a guarded request (admin or signed in, per route); `set` takes the status and no-store. */
  const page = async (g: SignedInContext & Pick<Context, "request" | "set">, scope: "admin" | "own") => {
    const { current, set } = g;
    const path = scope === "admin" ? "/admin/audit" : "/activity";
    const url = new URL(g.request.url);
    set.headers["cache-control"] = "no-store";
    const { query, valid, filter, problem } = readAuditQuery(url.searchParams);
    if (scope === "own") {
      query.user = "";
      valid.user = "";
      delete filter.email;
      filter.userId = current.user.id;
    }
    if (problem) set.status = 400;
    const shown = problem ? [] : await pageOf(filter, url.searchParams);
    const first = shown[0];
    const last = shown.at(-1);
    const has = async (cursor: { beforeId?: number; afterId?: number }) =>
      (await listAuditEvents(web.db, filter, { ...cursor, limit: 1 })).length > 0;
    const link = (cursor: Record<string, string>) => `${path}${auditQueryString(valid, cursor)}`;
    return AuditPage({
      viewer: g.viewer,
      csrf: g.csrf,
      scope,
      action: path,
      query,
      valid,
      events: auditEvents,
      outcomes: auditOutcomes,
      rows: shown.map(rowView),
      position:
        first === undefined
          ? null
          : {
              first: (await countAuditEvents(web.db, filter, first.id)) + 1,
              total: await countAuditEvents(web.db, filter),
            },
      newerHref: first && (await has({ afterId: first.id })) ? link({ after: String(first.id) }) : null,
      olderHref: last && (await has({ beforeId: last.id })) ? link({ before: String(last.id) }) : null,
      // Only the filters that could be read go on to the export: it would refuse the rest.
      ...(scope === "admin" && { exportHref: `/admin/audit.jsonl${auditQueryString(valid)}` }),
      ...(problem && { error: problem }),
      retentionDays,
      now: web.now(),
    });
  };

  return new Elysia()
    .use(pages)
    .get("/admin/audit", (ctx) => page(ctx, "admin"), { admin: "the audit log" })
    .get("/activity", (ctx) => page(ctx, "own"), { signedIn: true })
    .get("/admin/audit.jsonl", async ({ request, cookie }) => {
      const current = await signedIn(web, cookie);
      if (!current)
        return exportError(401, {
          error: "unauthorized",
          error_description: "Sign in as an admin to export the audit log.",
        });
      if (!actsAsAdmin(current))
        return exportError(403, {
          error: "forbidden",
          error_description:
            "Only an admin signed in with a password or an identity provider can export the audit log.",
        });
      const { filter, problems, problem } = readAuditQuery(new URL(request.url).searchParams);
      if (problem)
        return exportError(400, {
          error: "invalid_filter",
          error_description: problem,
          invalid_filters: problems.map((p) => ({ filter: p.filter, value: p.value, reason: p.message })),
        });
      return new Response(auditJsonLines(web.db, filter satisfies AuditFilter), {
        headers: {
          "content-type": "application/x-ndjson; charset=utf-8",
          "content-disposition": `attachment; filename="gatehouse-audit-${new Date(web.now() * 1000).toISOString().slice(0, 10)}.jsonl"`,
          "cache-control": "no-store",
        },
      });
    });
}
