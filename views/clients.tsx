import type { ClientKind, TokenEndpointAuthMethod } from "../src/oauth/clients-store.ts";
import { Time } from "./format.tsx";
import { ErrorNote, ActionsHeader, TableScroll, ConfirmLink, CopyButton, ClientIdField } from "./parts.tsx";
import { Layout, type Viewer } from "./layout.tsx";
import { NoMatches, SearchBox, SortHeader, type ListView } from "./list-controls.tsx";

// The clients pages, in two scopes that share every part: /admin/clients,
// where admins see every client with its owner, and /clients, where a person
// manages the clients they registered.

export interface ClientRow {
  id: string;
  name: string;
  kind: ClientKind;
  redirectUris: string[];
  authMethod: TokenEndpointAuthMethod;
  createdAt: number;
  lastUsedAt: number | null;
  /** The email of the person who registered it on their clients page; null when nobody owns it. */
  ownerEmail: string | null;
}

/** Which clients page: its path, and whether it is the admins' (every client, with kind and owner). */
export interface ClientsScope {
  path: string;
  admin: boolean;
}

/** What a person picks when adding a client: public, or confidential and how it sends its secret. */
export const clientTypeChoices = [
  { value: "none", label: "Public (PKCE, no secret): desktop, CLI and browser apps" },
  {
    value: "client_secret_basic",
    label: "Confidential: secret sent in the Authorization header (client_secret_basic)",
  },
  { value: "client_secret_post", label: "Confidential: secret sent in the request body (client_secret_post)" },
] as const;

const kindLabelOf = (c: ClientRow): string =>
  c.kind === "manual"
    ? c.ownerEmail === null
      ? "Added by an admin"
      : "Added by its owner"
    : { dcr: "Registered itself (DCR)", cimd: "Metadata document (URL)", service: "Service account" }[c.kind];
const methodLabel = {
  none: "Public",
  client_secret_basic: "Confidential (Basic)",
  client_secret_post: "Confidential (post)",
} as const;

export const editHref = (scope: ClientsScope, id: string) => `${scope.path}/edit?id=${encodeURIComponent(id)}`;

export interface ClientsPageProps {
  viewer: Viewer;
  csrf: string;
  scope: ClientsScope;
  /** The clients that match the search, in the asked order. */
  clients: ClientRow[];
  list: ListView;
  /** The app's clock (unix seconds), for relative times. */
  now: number;
  error?: string;
  form?: { name: string; redirectUris: string; type: string };
}

function Intro({ scope }: { scope: ClientsScope }): string {
  return scope.admin
    ? ((
        <p class="muted">
          Apps that may ask users for access: those that registered themselves, those identified by a metadata document
          URL, those people added on their own clients page, and those added here. Deleting a client revokes every token
          issued to it.
        </p>
      ) as string)
    : ((
        <p class="muted">
          Most apps (claude.ai, Claude Code, Cursor, VS Code) register themselves when they connect. Add one here when
          an app of yours needs a client ID given to it. Anyone here can approve it on the consent page, under the name
          you give it; only you and admins can change it. Deleting a client revokes every token issued to it.
        </p>
      ) as string);
}

/** The list of clients in scope, and a form to add one. */
export function ClientsPage({ viewer, csrf, scope, clients, list, now, error, form }: ClientsPageProps): string {
  const title = scope.admin ? "All OAuth clients" : "Your OAuth clients";
  return (
    <Layout title={title} viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1>{title}</h1>
        <Intro scope={scope} />
        {clients.length > 0 || list.q ? <SearchBox list={list} label="Search clients" /> : ""}
        {clients.length === 0 ? (
          list.q ? (
            <NoMatches list={list} id="no-clients" />
          ) : (
            <p id="no-clients">No clients yet.</p>
          )
        ) : (
          <TableScroll label="OAuth clients">
            <table id="clients" class="stack">
              <thead>
                <tr>
                  <SortHeader list={list} column="name" label="Name" first="asc" />
                  {scope.admin ? <th>Kind</th> : ""}
                  {scope.admin ? <SortHeader list={list} column="owner" label="Owner" first="asc" /> : ""}
                  <th>Client ID</th>
                  <th>Redirect URIs</th>
                  <th>Type</th>
                  <SortHeader list={list} column="created" label="Created" first="desc" />
                  <SortHeader list={list} column="last_used" label="Last used" first="desc" />
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {clients.map((c, i) => (
                  <tr data-client-id={c.id}>
                    <td class="name" safe>
                      {c.name}
                    </td>
                    {scope.admin ? (
                      <td data-label="Kind" safe>
                        {kindLabelOf(c)}
                      </td>
                    ) : (
                      ""
                    )}
                    {scope.admin ? (
                      <td class="owner" data-label="Owner" safe>
                        {c.ownerEmail ?? "—"}
                      </td>
                    ) : (
                      ""
                    )}
                    <td data-label="Client ID">
                      <code id={`client-id-${i}`} safe>
                        {c.id}
                      </code>{" "}
                      <CopyButton target={`client-id-${i}`} name="Copy client ID" />
                    </td>
                    <td data-label="Redirect URIs">
                      {c.redirectUris.map((u) => (
                        <div>
                          <code safe>{u}</code>
                        </div>
                      ))}
                    </td>
                    <td data-label="Type">{methodLabel[c.authMethod]}</td>
                    <td data-label="Created">
                      <Time at={c.createdAt} now={now} />
                    </td>
                    <td data-label="Last used">
                      {c.lastUsedAt === null ? "Never" : <Time at={c.lastUsedAt} now={now} />}
                    </td>
                    <td class="actions">
                      <a href={editHref(scope, c.id)}>Edit</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
      <section class="card">
        <h2>Add a client</h2>
        <ErrorNote message={error} />
        <form method="post" action={scope.path} id="add-client">
          <input type="hidden" name="csrf" value={csrf} />
          <label>
            Name
            <input type="text" name="name" value={form?.name ?? ""} maxlength="200" required />
          </label>
          <label>
            Redirect URIs, one per line
            <textarea name="redirect_uris" rows="4" required safe>
              {form?.redirectUris ?? ""}
            </textarea>
          </label>
          <fieldset>
            <legend>Type</legend>
            {clientTypeChoices.map((c) => (
              <label class="choice">
                <input type="radio" name="type" value={c.value} checked={(form?.type ?? "none") === c.value} />{" "}
                {c.label}
              </label>
            ))}
          </fieldset>
          <button type="submit">Add client</button>
        </form>
      </section>
    </Layout>
  ) as string;
}

export interface ClientSecretProps {
  viewer: Viewer;
  csrf: string;
  scope: ClientsScope;
  name: string;
  clientId: string;
  /** Shown once: a confidential client's new secret (a public client has none, and no page of this). */
  secret: string;
  /** A new secret for an existing client, rather than a new client. */
  renewed: boolean;
}

/** The only time a client's secret is ever shown: when it is added, and when it gets a new one. */
export function ClientSecretPage({ viewer, csrf, scope, name, clientId, secret, renewed }: ClientSecretProps): string {
  return (
    <Layout title={renewed ? "New client secret" : "Client added"} viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1 safe>{renewed ? `New secret for “${name}”` : `Client “${name}” added`}</h1>
        <ClientIdField clientId={clientId} />
        <p>Copy the client secret now: it will not be shown again.</p>
        <div class="secret">
          <input type="text" id="client-secret" value={secret} readonly aria-label="Client secret" />
          <CopyButton target="client-secret" name="Copy client secret" />
        </div>
        <p>
          <a href={scope.path}>Back to OAuth clients</a>
        </p>
      </section>
    </Layout>
  ) as string;
}

export interface ClientEditProps {
  viewer: Viewer;
  csrf: string;
  scope: ClientsScope;
  client: ClientRow;
  error?: string;
  redirectUris?: string;
}

/** One client: change its redirect URIs, give it a new secret, or delete it. */
export function ClientEditPage({ viewer, csrf, scope, client, error, redirectUris }: ClientEditProps): string {
  return (
    <Layout title={`Client ${client.name}`} viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1 safe>{client.name}</h1>
        <p>
          <code id="client-id" safe>
            {client.id}
          </code>{" "}
          <CopyButton target="client-id" name="Copy client ID" /> · <span safe>{kindLabelOf(client)}</span> ·{" "}
          {methodLabel[client.authMethod]}
        </p>
        {scope.admin && client.ownerEmail !== null ? (
          <p>
            Owner:{" "}
            <span class="owner" safe>
              {client.ownerEmail}
            </span>
          </p>
        ) : (
          ""
        )}
        <ErrorNote message={error} />
        {client.kind === "cimd" ? (
          <p class="muted">This client's redirect URIs come from its metadata document and cannot be edited here.</p>
        ) : (
          <form method="post" action={`${scope.path}/redirect-uris`} id="edit-redirect-uris">
            <input type="hidden" name="csrf" value={csrf} />
            <input type="hidden" name="client_id" value={client.id} />
            <label>
              Redirect URIs, one per line
              <textarea name="redirect_uris" rows="4" required safe>
                {redirectUris ?? client.redirectUris.join("\n")}
              </textarea>
            </label>
            <button type="submit">Save redirect URIs</button>
          </form>
        )}
      </section>
      {client.authMethod === "none" ? (
        ""
      ) : (
        <section class="card">
          <h2>New secret</h2>
          <p>
            A new client secret is shown once; the old one stops working at once, and the app needs the new one to get
            tokens.
          </p>
          <p id="renew-secret">
            <ConfirmLink
              href={`${scope.path}/secret?id=${encodeURIComponent(client.id)}`}
              label="Make a new secret"
              subject={client.name}
              variant="secondary"
            />
          </p>
        </section>
      )}
      <section class="card">
        <h2>Delete</h2>
        <p>Deleting the client revokes every grant and token issued to it; its users must connect it again.</p>
        <p id="delete-client">
          <ConfirmLink
            href={`${scope.path}/delete?id=${encodeURIComponent(client.id)}`}
            label="Delete client"
            subject={client.name}
            variant="danger"
          />
        </p>
        <p>
          <a href={scope.path}>Back to OAuth clients</a>
        </p>
      </section>
    </Layout>
  ) as string;
}
