import type { AuditFilter } from "./audit-store.ts";
import { auditEvents, auditOutcomes } from "./entry.ts";

// The audit pages' query string, read into a filter. Pure: no I/O.

/** The filter fields as typed, to fill the form again. */
export interface AuditQuery {
  user: string;
  client: string;
  tool: string;
  /** A request's X-Request-Id. */
  request: string;
  outcome: string;
  event: string;
  from: string;
  to: string;
}

const maxFieldLength = 320;

/**
 * A date (`2026-05-01`) or a date and time (`2026-05-01T13:45`, the form's
 * datetime-local), in UTC, as unix seconds; a date alone means its first
 * second for `from` and its last for `to`. Null when unreadable.
 */
export function parseAuditTime(value: string, end: "from" | "to"): number | null {
  const match = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?Z?$/.exec(value.trim());
  if (!match) return null;
  const [, date, time] = match;
  const clock =
    time === undefined
      ? end === "from"
        ? "00:00:00"
        : "23:59:59"
      : time.length === 5
        ? `${time}:${end === "from" ? "00" : "59"}`
        : time;
  const ms = Date.parse(`${date}T${clock}Z`);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** A filter in the query that cannot be read, and why. */
export interface AuditQueryProblem {
  filter: keyof AuditQuery;
  value: string;
  message: string;
}

/**
 * The filter a query string asks for; `valid`, the query without the fields
 * that cannot be read (for links that must not carry them on); `problems`, why.
 */
export function readAuditQuery(params: URLSearchParams): {
  query: AuditQuery;
  valid: AuditQuery;
  filter: AuditFilter;
  problems: AuditQueryProblem[];
  problem: string | null;
} {
  const text = (name: keyof AuditQuery) => (params.get(name) ?? "").trim().slice(0, maxFieldLength);
  const query: AuditQuery = {
    user: text("user"),
    client: text("client"),
    tool: text("tool"),
    request: text("request"),
    outcome: text("outcome"),
    event: text("event"),
    from: text("from"),
    to: text("to"),
  };
  const filter: AuditFilter = {};
  const problems: AuditQueryProblem[] = [];
  const refuse = (name: keyof AuditQuery, message: string) =>
    problems.push({ filter: name, value: query[name], message });
  if (query.user) filter.email = query.user.toLowerCase();
  if (query.client) filter.client = query.client;
  if (query.tool) filter.tool = query.tool;
  if (query.request) filter.requestId = query.request;
  if (query.outcome) {
    if ((auditOutcomes as readonly string[]).includes(query.outcome)) filter.outcome = query.outcome;
    else refuse("outcome", `Unknown outcome "${query.outcome}".`);
  }
  if (query.event) {
    if ((auditEvents as readonly string[]).includes(query.event)) filter.event = query.event;
    else refuse("event", `Unknown event "${query.event}".`);
  }
  for (const end of ["from", "to"] as const) {
    if (!query[end]) continue;
    const at = parseAuditTime(query[end], end);
    if (at === null) refuse(end, `"${end}" must be a date such as 2026-05-01 or 2026-05-01T13:45 (UTC).`);
    else filter[end] = at;
  }
  const valid = { ...query };
  for (const p of problems) valid[p.filter] = "";
  return {
    query,
    valid,
    filter,
    problems,
    problem: problems.length ? problems.map((p) => p.message).join(" ") : null,
  };
}

/** The query string for these filters (and a page cursor), for links and the export. */
export function auditQueryString(query: AuditQuery, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...query, ...extra })) if (value) params.set(name, value);
  const s = params.toString();
  return s ? `?${s}` : "";
}
