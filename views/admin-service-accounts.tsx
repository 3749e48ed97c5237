import type { AccessLevel } from "../src/keys/api-keys.ts";
import { Time } from "./format.tsx";
import {
  ErrorNote,
  PostButton,
  ActionsHeader,
  TableScroll,
  ConfirmLink,
  CopyButton,
  ClientIdField,
  CommandSnippet,
} from "./parts.tsx";
import { Layout, type Viewer } from "./layout.tsx";
import { NoMatches, SearchBox, SortHeader, type ListView } from "./list-controls.tsx";
import { AccessFields, PermittedTools, shownChoice, type ToolGroupOption } from "./access.tsx";

export interface ServiceAccountView {
  id: string;
  name: string;
  clientId: string;
  access: AccessLevel;
  /** The write tools a Full account may call; null: every write tool. */
  tools: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
  disabledAt: number | null;
}

export interface AdminServiceAccountsProps {
  viewer: Viewer;
  csrf: string;
  /** The accounts that match the search, in the asked order. */
  accounts: ServiceAccountView[];
  list: ListView;
  /** The app's clock (unix seconds), for relative times. */
  now: number;
  offer: { full: boolean; chosen: boolean };
  groups: ToolGroupOption[];
  error?: string;
  form?: ServiceAccountForm;
}

/** The create form as posted, to draw it again after an error. */
export interface ServiceAccountForm {
  name: string;
  choice: string;
  ticked: string[];
}

const accessLabel = { read: "Read-only", full: "Full" } as const;

function AccountActions({ a, csrf }: { a: ServiceAccountView; csrf: string }): string {
  const base = `/admin/service-accounts/${a.id}`;
  return (
    <>
      <ConfirmLink href={`${base}/secret`} label="New secret" subject={a.name} variant="secondary" />
      {a.disabledAt === null ? (
        <ConfirmLink href={`${base}/disable`} label="Disable" subject={a.name} variant="danger" />
      ) : (
        <PostButton action={`${base}/enable`} csrf={csrf} label="Enable" variant="secondary" />
      )}
      <ConfirmLink href={`${base}/delete`} label="Delete" subject={a.name} variant="danger" />
    </>
  ) as string;
}

/** Settings → Service accounts: non-human principals for client_credentials. */
export function AdminServiceAccountsPage({
  viewer,
  csrf,
  accounts,
  list,
  now,
  offer,
  groups,
  error,
  form,
}: AdminServiceAccountsProps): string {
  return (
    <Layout title="Service accounts" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1>Service accounts</h1>
        <p class="muted">
          A service account is a program, not a person: it gets access tokens with{" "}
          <code>grant_type=client_credentials</code> and its own client secret. Disabling or deleting one stops its
          tokens at once.
        </p>
        {accounts.length > 0 || list.q ? <SearchBox list={list} label="Search service accounts" /> : ""}
        {accounts.length === 0 ? (
          list.q ? (
            <NoMatches list={list} id="no-service-accounts" />
          ) : (
            <p id="no-service-accounts">No service accounts yet.</p>
          )
        ) : (
          <TableScroll label="Service accounts">
            <table id="service-accounts" class="stack">
              <thead>
                <tr>
                  <SortHeader list={list} column="name" label="Name" first="asc" />
                  <th>Client ID</th>
                  <th>Access</th>
                  <th>Write tools</th>
                  <SortHeader list={list} column="created" label="Created" first="desc" />
                  <SortHeader list={list} column="last_used" label="Last used" first="desc" />
                  <SortHeader list={list} column="status" label="Status" first="asc" />
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {accounts.map((a, i) => (
                  <tr data-account-id={a.id}>
                    <td class="name" safe>
                      {a.name}
                    </td>
                    <td data-label="Client ID">
                      <code id={`client-id-${i}`} safe>
                        {a.clientId}
                      </code>{" "}
                      <CopyButton target={`client-id-${i}`} name="Copy client ID" />
                    </td>
                    <td data-label="Access">{accessLabel[a.access]}</td>
                    <td class="write-tools-granted" data-label="Write tools">
                      <PermittedTools access={a.access} tools={a.tools} />
                    </td>
                    <td data-label="Created">
                      <Time at={a.createdAt} now={now} />
                    </td>
                    <td class="last-used" data-label="Last used">
                      {a.lastUsedAt === null ? "Never" : <Time at={a.lastUsedAt} now={now} />}
                    </td>
                    <td class="status" data-label="Status">
                      {a.disabledAt === null ? "Active" : "Disabled"}
                    </td>
                    <td class="actions">
                      <AccountActions a={a} csrf={csrf} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
      <section class="card">
        <h2>Create a service account</h2>
        <ErrorNote message={error} />
        <form method="post" action="/admin/service-accounts" id="create-service-account">
          <input type="hidden" name="csrf" value={csrf} />
          <label>
            Name <span class="muted">(a-z, 0-9 and -, for example ci-deploy)</span>
            <input
              type="text"
              name="name"
              value={form?.name ?? ""}
              maxlength="40"
              pattern="[a-z0-9][a-z0-9\-]{0,39}"
              required
            />
          </label>
          <AccessFields
            offer={offer}
            groups={groups}
            choice={shownChoice(form?.choice, offer)}
            ticked={form?.ticked ?? []}
          />
          <button type="submit">Create service account</button>
        </form>
      </section>
    </Layout>
  ) as string;
}

/** The only time a service account's client secret is shown, with how to use it. */
export function ServiceAccountSecretPage(p: {
  viewer: Viewer;
  csrf: string;
  name: string;
  clientId: string;
  secret: string;
  tokenUrl: string;
  rotated: boolean;
}): string {
  return (
    <Layout title="Service account secret" viewer={p.viewer} csrf={p.csrf}>
      <section class="card">
        <h1 safe>{p.rotated ? `New secret for ${p.name}` : `Service account ${p.name} created`}</h1>
        <p>Copy the secret now: it will not be shown again.</p>
        <ClientIdField clientId={p.clientId} />
        <div class="secret">
          <input type="text" id="client-secret" value={p.secret} readonly aria-label="Client secret" />
          <button type="button" data-copy="client-secret">
            Copy
          </button>
        </div>
        <CommandSnippet
          id="usage"
          commands={[`curl -s ${p.tokenUrl} -u "${p.clientId}:$CLIENT_SECRET" -d grant_type=client_credentials`]}
        />
        <p>
          <a href="/admin/service-accounts">Back to service accounts</a>
        </p>
      </section>
    </Layout>
  ) as string;
}
