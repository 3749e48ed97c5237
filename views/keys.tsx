import type { AccessLevel } from "../src/keys/api-keys.ts";
import { expiryOf, ExpiryBadge, Time } from "./format.tsx";
import { ErrorNote, ActionsHeader, TableScroll, ConfirmLink } from "./parts.tsx";
import { Layout, type Viewer } from "./layout.tsx";
import { NoMatches, SearchBox, SortHeader, type ListView } from "./list-controls.tsx";
import {
  AccessFields,
  PermittedTools,
  LimitList,
  shownChoice,
  type LimitItem,
  type ToolGroupOption,
} from "./access.tsx";

export interface KeyRow {
  id: string;
  name: string;
  access: AccessLevel;
  /** The write tools a Full key may call; null: every write tool. */
  tools: string[] | null;
  /** Its argument limits; empty: none. */
  limits: LimitItem[];
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
}

export interface ConnectionRow {
  id: string;
  /** e.g. "Claude (MCP connector)". */
  name: string;
  access: AccessLevel;
  /** The write tools ticked on the consent page; null: every write tool. */
  tools: string[] | null;
  /** Its argument limits; empty: none. */
  limits: LimitItem[];
  /** The same limits as `tool:argument=pattern` lines, for the edit form. */
  limitLines: string;
  createdAt: number;
  lastUsedAt: number | null;
  userEmail: string;
}

/** A connection's limits as posted, drawn again with why they were refused. */
export interface ConnectionLimitsError {
  id: string;
  message: string;
  posted: string;
}

/** Where a person's connected apps are listed, for links from other pages (after a device is connected). */
export const connectedAppsPath = "/keys#connected-apps";

export const expiryChoices = [
  { value: "never", label: "Never" },
  { value: "7d", label: "7 days" },
  { value: "30d", label: "30 days" },
  { value: "90d", label: "90 days" },
  { value: "365d", label: "1 year" },
] as const;

export interface KeysProps {
  viewer: Viewer;
  csrf: string;
  /** The keys that match the search, in the asked order. */
  keys: KeyRow[];
  list: ListView;
  /** The viewer's own connections (approved OAuth authorizations): their connected apps. */
  connections: ConnectionRow[];
  /** Everyone else's connections: admins only, else null. */
  othersConnections: ConnectionRow[] | null;
  /** The app's clock (unix seconds), for relative times. */
  now: number;
  /** The access a new key can have: Full and the tickable write tools only as far as this session may give. */
  offer: { full: boolean; chosen: boolean };
  groups: ToolGroupOption[];
  /** For a session opened with an API key: what that limits, in one sentence. */
  keySession?: string;
  error?: string;
  form?: KeysForm;
  connectionError?: ConnectionLimitsError;
}

/** The create form as posted, to draw it again after an error. */
export interface KeysForm {
  name: string;
  choice: string;
  expiresIn: string;
  ticked: string[];
  /** The argument limits box as posted. */
  limits: string;
}

const limitsHelp =
  "One per line: tool:argument=pattern, e.g. github__create_issue:repo=acme/*. The tool then runs only where that argument (a string at the top level of its input) matches; * does not cross /, ** does.";

/** A key's or connection's write tools, and under them its argument limits. */
function ToolsCell({
  access,
  tools,
  limits,
}: {
  access: AccessLevel;
  tools: string[] | null;
  limits: LimitItem[];
}): string {
  return (
    <td class="write-tools-granted" data-label="Write tools">
      <PermittedTools access={access} tools={tools} />
      {limits.length > 0 ? (
        <div class="limits">
          <span class="muted">Argument limits:</span>
          <LimitList items={limits} />
        </div>
      ) : (
        ""
      )}
    </td>
  ) as string;
}

/** The owner's form to change a connection's argument limits after approval. */
function EditLimits({ row, csrf, error }: { row: ConnectionRow; csrf: string; error?: ConnectionLimitsError }): string {
  const mine = error?.id === row.id ? error : undefined;
  return (
    <details class="edit-limits" open={mine !== undefined}>
      <summary>Argument limits</summary>
      <form method="post" action={`/connections/${row.id}/limits`}>
        <input type="hidden" name="csrf" value={csrf} />
        {mine ? (
          <p class="error" safe>
            {mine.message}
          </p>
        ) : (
          ""
        )}
        <label>
          <span class="muted hint">{limitsHelp} Empty: no limits.</span>
          <textarea name="argument_limits" rows="3" safe>
            {mine ? mine.posted : row.limitLines}
          </textarea>
        </label>
        <button type="submit" class="secondary">
          Save limits
        </button>
      </form>
    </details>
  ) as string;
}

const accessLabel = { read: "Read-only", full: "Full" } as const;

function ConnectionsTable({
  id,
  label,
  rows,
  csrf,
  showUser,
  now,
  error,
}: {
  id: string;
  /** The scroll region's name: unique on the page. */
  label: string;
  rows: ConnectionRow[];
  csrf: string;
  showUser: boolean;
  now: number;
  error?: ConnectionLimitsError;
}): string {
  return (
    <TableScroll label={label}>
      <table id={id} class="stack">
        <thead>
          <tr>
            <th>Name</th>
            {showUser ? <th>User</th> : ""}
            <th>Access</th>
            <th>Write tools</th>
            <th>Created</th>
            <th>Last used</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr data-connection-id={c.id}>
              <td class="name" safe>
                {c.name}
              </td>
              {showUser ? (
                <td class="owner" data-label="User" safe>
                  {c.userEmail}
                </td>
              ) : (
                ""
              )}
              <td data-label="Access">{accessLabel[c.access]}</td>
              <ToolsCell access={c.access} tools={c.tools} limits={c.limits} />
              <td data-label="Created">
                <Time at={c.createdAt} now={now} />
              </td>
              <td data-label="Last used">{c.lastUsedAt === null ? "Never" : <Time at={c.lastUsedAt} now={now} />}</td>
              <td class="actions">
                <ConfirmLink
                  href={`/connections/${c.id}/revoke`}
                  label="Revoke"
                  subject={showUser ? `${c.name}, ${c.userEmail}` : c.name}
                  variant="danger"
                />
                {!showUser && c.access === "full" ? <EditLimits row={c} csrf={csrf} error={error} /> : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  ) as string;
}

export function KeysPage({
  viewer,
  csrf,
  keys,
  list,
  connections,
  othersConnections,
  now,
  offer,
  groups,
  keySession,
  error,
  form,
  connectionError,
}: KeysProps): string {
  return (
    <Layout title="API keys" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1>API keys</h1>
        <p class="muted">
          Scripts and CI send a key as <code>Authorization: Bearer gate_key_…</code>. A key can also be pasted on the
          sign-in page.
        </p>
        {keySession ? (
          <p class="note" id="key-session" safe>
            {keySession}
          </p>
        ) : (
          ""
        )}
        {keys.length > 0 || list.q ? <SearchBox list={list} label="Search keys" /> : ""}
        {keys.length === 0 ? (
          list.q ? (
            <NoMatches list={list} id="no-keys" />
          ) : (
            <p id="no-keys">No API keys yet.</p>
          )
        ) : (
          <TableScroll label="API keys">
            <table id="keys" class="stack">
              <thead>
                <tr>
                  <SortHeader list={list} column="name" label="Name" first="asc" />
                  <th>Identifier</th>
                  <th>Access</th>
                  <th>Write tools</th>
                  <SortHeader list={list} column="created" label="Created" first="desc" />
                  <SortHeader list={list} column="last_used" label="Last used" first="desc" />
                  <SortHeader list={list} column="expires" label="Expires" first="asc" />
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {keys.map((k) => (
                  <tr data-key-id={k.id}>
                    <td class="name" safe>
                      {k.name}
                    </td>
                    <td data-label="Identifier">
                      <code safe>{k.id}</code>
                    </td>
                    <td data-label="Access">{accessLabel[k.access]}</td>
                    <ToolsCell access={k.access} tools={k.tools} limits={k.limits} />
                    <td data-label="Created">
                      <Time at={k.createdAt} now={now} />
                    </td>
                    <td data-label="Last used">
                      {k.lastUsedAt === null ? "Never" : <Time at={k.lastUsedAt} now={now} />}
                    </td>
                    <td class="expires" data-label="Expires">
                      {k.expiresAt === null ? "Never" : <Time at={k.expiresAt} now={now} />}{" "}
                      <ExpiryBadge expiresAt={k.expiresAt} now={now} />
                    </td>
                    <td class="actions">
                      {/* An expired key cannot be rotated back to life: it can only be removed from the list. */}
                      {expiryOf(k.expiresAt, now) === "expired" ? (
                        ""
                      ) : (
                        <ConfirmLink
                          href={`/keys/${k.id}/rotate`}
                          label="Rotate"
                          subject={k.name}
                          variant="secondary"
                        />
                      )}
                      <ConfirmLink href={`/keys/${k.id}/revoke`} label="Revoke" subject={k.name} variant="danger" />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
      <section class="card" id="connected-apps">
        <h2>Connected apps</h2>
        <p class="muted">
          Apps you authorized to use Gatehouse for you, such as Claude or Cursor. Revoking one ends its access at once.
        </p>
        {connections.length === 0 ? (
          <p id="no-connections">No connected apps yet.</p>
        ) : (
          <ConnectionsTable
            id="connections"
            label="Connected apps"
            rows={connections}
            csrf={csrf}
            showUser={false}
            now={now}
            error={connectionError}
          />
        )}
      </section>
      {othersConnections ? (
        <section class="card">
          <h2>Other people's connected apps</h2>
          {othersConnections.length === 0 ? (
            <p id="no-all-connections">No one else has connected an app.</p>
          ) : (
            <ConnectionsTable
              id="all-connections"
              label="Other people's connected apps"
              rows={othersConnections}
              csrf={csrf}
              showUser={true}
              now={now}
            />
          )}
        </section>
      ) : (
        ""
      )}
      <section class="card">
        <h2>Create a key</h2>
        <ErrorNote message={error} />
        <form method="post" action="/keys" id="create-key">
          <input type="hidden" name="csrf" value={csrf} />
          <label>
            Name
            <input type="text" name="name" value={form?.name ?? ""} maxlength="100" required />
          </label>
          <AccessFields
            offer={offer}
            groups={groups}
            choice={shownChoice(form?.choice, offer)}
            ticked={form?.ticked ?? []}
          />
          {offer.full || offer.chosen ? (
            <label class="limits-box">
              Argument limits (optional)
              <span class="muted hint">{limitsHelp}</span>
              <textarea name="argument_limits" rows="2" placeholder="github__create_issue:repo=acme/*" safe>
                {form?.limits ?? ""}
              </textarea>
            </label>
          ) : (
            ""
          )}
          <label>
            Expires
            <select name="expires_in">
              {expiryChoices.map((c) => (
                <option value={c.value} selected={(form?.expiresIn ?? "never") === c.value}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Create key</button>
        </form>
      </section>
    </Layout>
  ) as string;
}
