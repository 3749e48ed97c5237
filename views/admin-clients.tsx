import { Time } from "./format.tsx";
import { ErrorNote } from "./parts.tsx";
import { Layout, type Viewer } from "./layout.tsx";

export interface ClientRow {
  id: string;
  name: string;
  kind: "dcr" | "manual" | "cimd" | "service";
  redirectUris: string[];
  authMethod: "none" | "client_secret_post" | "client_secret_basic";
  createdAt: number;
  lastUsedAt: number | null;
}

/** What the admin picks when adding a client: public, or confidential and how it sends its secret. */
export const clientTypeChoices = [
  { value: "none", label: "Public (PKCE, no secret): desktop, CLI and browser apps" },
  { value: "client_secret_basic", label: "Confidential: secret sent in the Authorization header (client_secret_basic)" },
  { value: "client_secret_post", label: "Confidential: secret sent in the request body (client_secret_post)" },
] as const;

const kindLabel = { dcr: "Registered itself (DCR)", manual: "Added by an admin", cimd: "Metadata document (URL)", service: "Service account" } as const;
const methodLabel = { none: "Public", client_secret_basic: "Confidential (Basic)", client_secret_post: "Confidential (post)" } as const;

export const editHref = (id: string) => `/admin/clients/edit?id=${encodeURIComponent(id)}`;

export interface AdminClientsProps {
  viewer: Viewer;
  csrf: string;
  clients: ClientRow[];
  error?: string;
  form?: { name: string; redirectUris: string; type: string };
}

/** Settings → Connected MCP clients: every client, and a form to add one by hand. */
export function AdminClientsPage({ viewer, csrf, clients, error, form }: AdminClientsProps): string {
  return (
    <Layout title="Connected MCP clients" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1>Connected MCP clients</h1>
        <p class="muted">
          Apps that may ask users for access: those that registered themselves, those identified by a metadata document
          URL, and those added here. Deleting a client revokes every token issued to it.
        </p>
        {clients.length === 0 ? (
          <p id="no-clients">No clients yet.</p>
        ) : (
          <table id="clients">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Client ID</th>
                <th>Redirect URIs</th>
                <th>Type</th>
                <th>Created</th>
                <th>Last used</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {clients.map((c) => (
                <tr data-client-id={c.id}>
                  <td safe>{c.name}</td>
                  <td>{kindLabel[c.kind]}</td>
                  <td>
                    <code safe>{c.id}</code>
                  </td>
                  <td>
                    {c.redirectUris.map((u) => (
                      <div>
                        <code safe>{u}</code>
                      </div>
                    ))}
                  </td>
                  <td>{methodLabel[c.authMethod]}</td>
                  <td>
                    <Time at={c.createdAt} />
                  </td>
                  <td>{c.lastUsedAt === null ? "Never" : <Time at={c.lastUsedAt} />}</td>
                  <td class="actions">
                    <a href={editHref(c.id)}>Edit</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="card">
        <h2>Add a client</h2>
        <ErrorNote message={error} />
        <form method="post" action="/admin/clients" id="add-client">
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
                <input type="radio" name="type" value={c.value} checked={(form?.type ?? "none") === c.value} /> {c.label}
              </label>
            ))}
          </fieldset>
          <button type="submit">Add client</button>
        </form>
      </section>
    </Layout>
  ) as string;
}

export interface ClientCreatedProps {
  viewer: Viewer;
  csrf: string;
  name: string;
  clientId: string;
  /** Confidential clients only. */
  secret: string | null;
}

/** The only time a client's secret is ever shown. */
export function ClientCreatedPage({ viewer, csrf, name, clientId, secret }: ClientCreatedProps): string {
  return (
    <Layout title="Client added" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1 safe>{`Client “${name}” added`}</h1>
        <label>
          Client ID
          <input type="text" id="client-id" value={clientId} readonly />
        </label>
        {secret === null ? (
          <p class="muted">A public client: it has no secret and proves itself with PKCE.</p>
        ) : (
          <>
            <p>Copy the client secret now: it will not be shown again.</p>
            <div class="secret">
              <input type="text" id="client-secret" value={secret} readonly aria-label="Client secret" />
              <button type="button" data-copy="client-secret">
                Copy
              </button>
            </div>
          </>
        )}
        <p>
          <a href="/admin/clients">Back to clients</a>
        </p>
      </section>
    </Layout>
  ) as string;
}

export interface ClientEditProps {
  viewer: Viewer;
  csrf: string;
  client: ClientRow;
  error?: string;
  redirectUris?: string;
}

/** One client: change its redirect URIs, or delete it. */
export function ClientEditPage({ viewer, csrf, client, error, redirectUris }: ClientEditProps): string {
  return (
    <Layout title={`Client ${client.name}`} viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1 safe>{client.name}</h1>
        <p>
          <code safe>{client.id}</code> · {kindLabel[client.kind]} · {methodLabel[client.authMethod]}
        </p>
        <ErrorNote message={error} />
        {client.kind === "cimd" ? (
          <p class="muted">This client's redirect URIs come from its metadata document and cannot be edited here.</p>
        ) : (
          <form method="post" action="/admin/clients/redirect-uris" id="edit-redirect-uris">
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
      <section class="card">
        <h2>Delete</h2>
        <p>Deleting the client revokes every grant and token issued to it; its users must connect it again.</p>
        <form method="post" action="/admin/clients/delete" id="delete-client">
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="client_id" value={client.id} />
          <button type="submit" class="danger">
            Delete client
          </button>
        </form>
        <p>
          <a href="/admin/clients">Back to clients</a>
        </p>
      </section>
    </Layout>
  ) as string;
}
