import type { PropsWithChildren } from "@kitajs/html";
import { auditQueryString, type AuditQuery } from "../src/audit/filters.ts";
import { Time } from "./format.tsx";
import { ErrorNote, TableScroll } from "./parts.tsx";
import { Layout, type Viewer } from "./layout.tsx";

export interface AuditRowView {
  id: number;
  at: number;
  event: string;
  outcome: string;
  /** The user's email, the email tried (failed sign-in), or the user id of a deleted user. */
  user: string | null;
  /** The email alone (the user filter matches emails), when there is one. */
  userEmail: string | null;
  /** The OAuth client or API key the entry came through. */
  via: { kind: "client" | "key"; id: string } | null;
  tool: string | null;
  upstream: string | null;
  durationMs: number | null;
  requestId: string | null;
  ip: string | null;
  /** The detail JSON: a one-line summary and the whole, indented. */
  detail: { summary: string; pretty: string } | null;
}

export interface AuditPageProps {
  viewer: Viewer;
  csrf: string;
  /** Admin: everyone's entries, with a user filter and the export; own: the viewer's alone. */
  scope: "admin" | "own";
  action: string;
  query: AuditQuery;
  /** The query without the filters that could not be read: what links carry on. */
  valid: AuditQuery;
  events: readonly string[];
  outcomes: readonly string[];
  rows: AuditRowView[];
  /** The app's clock (unix seconds), for relative times. */
  now: number;
  /** Which entry this page starts at (1: the newest) and how many match; null when none. */
  position: { first: number; total: number } | null;
  /** The page of newer entries, or null on the newest. */
  newerHref: string | null;
  /** The page of older entries, or null on the last. */
  olderHref: string | null;
  exportHref?: string;
  error?: string;
  retentionDays: number;
}

function Choice({
  name,
  label,
  value,
  choices,
}: {
  name: string;
  label: string;
  value: string;
  choices: readonly string[];
}): string {
  return (
    <label>
      <span safe>{label}</span>
      <select name={name}>
        <option value="">Any</option>
        {choices.map((c) => (
          <option value={c} selected={c === value} safe>
            {c}
          </option>
        ))}
      </select>
    </label>
  ) as string;
}

function Text({ name, label, value, type }: { name: string; label: string; value: string; type?: string }): string {
  return (
    <label>
      <span safe>{label}</span>
      <input type={type ?? "text"} name={name} value={value} />
    </label>
  ) as string;
}

function FilterForm(p: AuditPageProps): string {
  return (
    <form method="get" action={p.action} id="audit-filters" class="filters">
      {p.scope === "admin" ? <Text name="user" label="User email" value={p.query.user} /> : ""}
      <Text name="client" label="Client or key id" value={p.query.client} />
      <Text name="tool" label="Tool" value={p.query.tool} />
      <Text name="request" label="Request id" value={p.query.request} />
      <Choice name="event" label="Event" value={p.query.event} choices={p.events} />
      <Choice name="outcome" label="Outcome" value={p.query.outcome} choices={p.outcomes} />
      <Text name="from" label="From (UTC)" value={p.query.from} type="datetime-local" />
      <Text name="to" label="To (UTC)" value={p.query.to} type="datetime-local" />
      <div class="buttons">
        <button type="submit">Filter</button>
        <a href={p.action}>Clear</a>
        {p.exportHref ? <a href={p.exportHref}>Export JSON lines</a> : ""}
      </div>
    </form>
  ) as string;
}

/** A value in a row as a link that adds it to the current filters (and starts again at the newest). */
function FilterLink({
  p,
  name,
  value,
  children,
}: PropsWithChildren<{
  p: AuditPageProps;
  name: keyof AuditQuery;
  value: string;
}>): string {
  return (
    <a href={`${p.action}${auditQueryString({ ...p.valid, [name]: value })}`} title={`Show only ${name} ${value}`}>
      {children}
    </a>
  ) as string;
}

function Row({ r, p }: { r: AuditRowView; p: AuditPageProps }): string {
  return (
    <tr data-audit-id={String(r.id)} data-event={r.event} data-outcome={r.outcome}>
      <td data-label="Time">
        <Time at={r.at} now={p.now} />
      </td>
      <td class="name" safe>
        {r.event}
      </td>
      <td data-label="Outcome" safe>
        {r.outcome}
      </td>
      {p.scope === "admin" ? (
        <td data-label="User" class="user">
          {r.userEmail === null ? (
            <span safe>{r.user ?? "—"}</span>
          ) : (
            <FilterLink p={p} name="user" value={r.userEmail}>
              <span safe>{r.userEmail}</span>
            </FilterLink>
          )}
        </td>
      ) : (
        ""
      )}
      <td data-label="Client or key" class={r.via === null ? "none" : undefined}>
        {r.via === null ? (
          "—"
        ) : (
          <FilterLink p={p} name="client" value={r.via.id}>
            <span safe>{`${r.via.kind} ${r.via.id}`}</span>
          </FilterLink>
        )}
      </td>
      <td data-label="Tool" class={r.tool === null ? "none" : undefined}>
        {r.tool === null ? (
          "—"
        ) : (
          <FilterLink p={p} name="tool" value={r.tool}>
            <code safe>{r.tool}</code>
          </FilterLink>
        )}
        {r.upstream === null ? "" : <div class="muted" safe>{`via ${r.upstream}`}</div>}
      </td>
      <td data-label="Duration" class={r.durationMs === null ? "number none" : "number"} safe>
        {r.durationMs === null ? "—" : `${r.durationMs} ms`}
      </td>
      <td data-label="Request" class={r.requestId === null && r.ip === null ? "request none" : "request"}>
        {r.requestId === null ? (
          "—"
        ) : (
          <FilterLink p={p} name="request" value={r.requestId}>
            <code safe>{r.requestId}</code>
          </FilterLink>
        )}
        {r.ip === null ? (
          ""
        ) : (
          <div class="muted" safe>
            {r.ip}
          </div>
        )}
      </td>
      <td data-label="Detail" class={r.detail === null ? "detail none" : "detail"}>
        {r.detail === null ? (
          "—"
        ) : (
          <details>
            <summary safe>{r.detail.summary}</summary>
            <pre>
              <code safe>{r.detail.pretty}</code>
            </pre>
          </details>
        )}
      </td>
    </tr>
  ) as string;
}

/** "Entries 51–100 of 1,234", and the links to the pages either side (with ids on the one below the table). */
function Pager({ p, below }: { p: AuditPageProps; below: boolean }): string {
  if (p.position === null) return "";
  const last = p.position.first + p.rows.length - 1;
  const n = (value: number) => value.toLocaleString("en");
  return (
    <nav class="pager" aria-label="Audit log pages">
      {p.newerHref ? (
        <a href={p.newerHref} id={below ? "newer" : undefined}>
          ← Newer
        </a>
      ) : (
        ""
      )}
      <span class="muted" safe>
        {`Entries ${n(p.position.first)}–${n(last)} of ${n(p.position.total)}`}
      </span>
      {p.olderHref ? (
        <a href={p.olderHref} id={below ? "older" : undefined}>
          Older →
        </a>
      ) : (
        ""
      )}
    </nav>
  ) as string;
}

/** The audit log: /admin/audit (everyone's) and /activity (the viewer's own). */
export function AuditPage(p: AuditPageProps): string {
  const title = p.scope === "admin" ? "Audit log" : "My activity";
  const showUser = p.scope === "admin";
  return (
    <Layout title={title} viewer={p.viewer} csrf={p.csrf}>
      <section class="card wide">
        <h1>{title}</h1>
        <p class="muted" safe>
          {`${p.scope === "admin" ? "Every tool call and security event" : "Your tool calls, tokens, keys and sign-ins"}, newest first. Entries are kept ${p.retentionDays} days.`}
        </p>
        <ErrorNote message={p.error} />
        <FilterForm {...p} />
        <Pager p={p} below={false} />
        {p.rows.length === 0 ? (
          <p id="no-audit-entries">No entries.</p>
        ) : (
          <TableScroll label="Audit log">
            <table id="audit" class="stack">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Event</th>
                  <th>Outcome</th>
                  {showUser ? <th>User</th> : ""}
                  <th>Client or key</th>
                  <th>Tool</th>
                  <th>Duration</th>
                  <th>Request</th>
                  <th>Detail</th>
                </tr>
              </thead>
              <tbody>
                {p.rows.map((r) => (
                  <Row r={r} p={p} />
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
        <Pager p={p} below={true} />
      </section>
    </Layout>
  ) as string;
}
