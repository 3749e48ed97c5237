import type { AuditQuery } from "../src/audit/filters.ts";
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
  /** "client …" or "key …". */
  via: string | null;
  tool: string | null;
  upstream: string | null;
  durationMs: number | null;
  requestId: string | null;
  ip: string | null;
  /** The detail JSON as stored. */
  detail: string | null;
}

export interface AuditPageProps {
  viewer: Viewer;
  csrf: string;
  /** Admin: everyone's entries, with a user filter and the export; own: the viewer's alone. */
  scope: "admin" | "own";
  action: string;
  query: AuditQuery;
  events: readonly string[];
  outcomes: readonly string[];
  rows: AuditRowView[];
  /** The app's clock (unix seconds), for relative times. */
  now: number;
  /** The next (older) page, or null on the last. */
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

function Row({ r, showUser, now }: { r: AuditRowView; showUser: boolean; now: number }): string {
  return (
    <tr data-audit-id={String(r.id)} data-event={r.event} data-outcome={r.outcome}>
      <td>
        <Time at={r.at} now={now} />
      </td>
      <td safe>{r.event}</td>
      <td safe>{r.outcome}</td>
      {showUser ? <td safe>{r.user ?? "—"}</td> : ""}
      <td safe>{r.via ?? "—"}</td>
      <td>
        {r.tool === null ? "—" : <code safe>{r.tool}</code>}
        {r.upstream === null ? "" : <div class="muted" safe>{`via ${r.upstream}`}</div>}
      </td>
      <td safe>{r.durationMs === null ? "—" : `${r.durationMs} ms`}</td>
      <td>
        <code safe>{r.requestId ?? "—"}</code>
        {r.ip === null ? (
          ""
        ) : (
          <div class="muted" safe>
            {r.ip}
          </div>
        )}
      </td>
      <td class="detail">{r.detail === null ? "" : <code safe>{r.detail}</code>}</td>
    </tr>
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
        {p.rows.length === 0 ? (
          <p id="no-audit-entries">No entries.</p>
        ) : (
          <TableScroll label="Audit log">
            <table id="audit">
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
                  <Row r={r} showUser={showUser} now={p.now} />
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
        {p.olderHref ? (
          <p>
            <a href={p.olderHref} id="older">
              Older entries
            </a>
          </p>
        ) : (
          ""
        )}
      </section>
    </Layout>
  ) as string;
}
