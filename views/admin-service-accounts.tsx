import type { AccessLevel } from "../src/keys/api-keys.ts";
import { Time } from "./format.tsx";
import {
  ErrorNote,
  PostButton,
  ActionsHeader,
  TableScroll,
  CopyButton,
  ClientIdField,
  CommandSnippet,
} from "./parts.tsx";
import { Layout, type Viewer } from "./layout.tsx";
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
  accounts: ServiceAccountView[];
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
      <PostButton action={`${base}/secret`} csrf={csrf} label="New secret" variant="secondary" />
      {a.disabledAt === null ? (
        <PostButton action={`${base}/disable`} csrf={csrf} label="Disable" variant="danger" />
      ) : (
        <PostButton action={`${base}/enable`} csrf={csrf} label="Enable" variant="secondary" />
      )}
      <PostButton action={`${base}/delete`} csrf={csrf} label="Delete" variant="danger" />
    </>
  ) as string;
}

/** Settings → Service accounts: non-human principals for client_credentials. */
export function AdminServiceAccountsPage({
  viewer,
  csrf,
  accounts,
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
        {accounts.length === 0 ? (
          <p id="no-service-accounts">No service accounts yet.</p>
        ) : (
          <TableScroll label="Service accounts">
            <table id="service-accounts">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Client ID</th>
                  <th>Access</th>
                  <th>Write tools</th>
                  <th>Created</th>
                  <th>Last used</th>
                  <th>Status</th>
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {accounts.map((a, i) => (
                  <tr data-account-id={a.id}>
                    <td safe>{a.name}</td>
                    <td>
                      <code id={`client-id-${i}`} safe>
                        {a.clientId}
                      </code>{" "}
                      <CopyButton target={`client-id-${i}`} name="Copy client ID" />
                    </td>
                    <td>{accessLabel[a.access]}</td>
                    <td class="write-tools-granted">
                      <PermittedTools access={a.access} tools={a.tools} />
                    </td>
                    <td>
                      <Time at={a.createdAt} />
                    </td>
                    <td class="last-used">{a.lastUsedAt === null ? "Never" : <Time at={a.lastUsedAt} />}</td>
                    <td class="status">{a.disabledAt === null ? "Active" : "Disabled"}</td>
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
        <p>Copy the secret now: it will not be shown again. {p.rotated ? "The old secret has stopped working." : ""}</p>
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
