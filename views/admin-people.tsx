import { Time } from "./format.tsx";
import { ErrorNote, PostButton, ActionsHeader, TableScroll } from "./parts.tsx";
import { Layout, type Viewer } from "./layout.tsx";

export interface PersonRow {
  id: string;
  email: string;
  isAdmin: boolean;
  createdAt: number;
  disabledAt: number | null;
}

export interface InvitationRow {
  id: string;
  email: string;
  isAdmin: boolean;
  createdAt: number;
  expiresAt: number;
}

export interface AdminPeopleProps {
  viewer: Viewer;
  csrf: string;
  people: PersonRow[];
  invitations: InvitationRow[];
  /** The signed-in admin, whose row says so. */
  selfId: string;
  /** Why an account change was refused. */
  error?: string;
  /** Why the invitation form was refused, shown in it, with the form as posted. */
  inviteError?: string;
  form?: { email: string; isAdmin: boolean };
}

function PersonActions({ p, csrf }: { p: PersonRow; csrf: string }): string {
  const base = `/admin/people/${p.id}`;
  return (
    <>
      {p.disabledAt === null ? (
        <PostButton action={`${base}/disable`} csrf={csrf} label="Disable" variant="danger" />
      ) : (
        <PostButton action={`${base}/enable`} csrf={csrf} label="Enable" variant="secondary" />
      )}
      {p.isAdmin ? (
        <PostButton action={`${base}/remove-admin`} csrf={csrf} label="Remove admin" variant="secondary" />
      ) : (
        <PostButton action={`${base}/make-admin`} csrf={csrf} label="Make admin" variant="secondary" />
      )}
    </>
  ) as string;
}

/** Settings → People: accounts, pending invitations, and a form to invite someone. */
export function AdminPeoplePage({
  viewer,
  csrf,
  people,
  invitations,
  selfId,
  error,
  inviteError,
  form,
}: AdminPeopleProps): string {
  return (
    <Layout title="People" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1>People</h1>
        <p class="muted">Disabling someone ends their sessions and stops their API keys and connections at once.</p>
        <ErrorNote message={error} />
        <TableScroll label="People">
          <table id="people">
            <thead>
              <tr>
                <th>Email</th>
                <th>Role</th>
                <th>Created</th>
                <th>Status</th>
                <ActionsHeader />
              </tr>
            </thead>
            <tbody>
              {people.map((p) => (
                <tr data-user-id={p.id}>
                  <td>
                    <span safe>{p.email}</span>
                    {p.id === selfId ? <span class="muted"> (you)</span> : ""}
                  </td>
                  <td>{p.isAdmin ? "Admin" : "Member"}</td>
                  <td>
                    <Time at={p.createdAt} />
                  </td>
                  <td>
                    {p.disabledAt === null ? (
                      "Active"
                    ) : (
                      <>
                        Disabled <Time at={p.disabledAt} />
                      </>
                    )}
                  </td>
                  <td class="actions">
                    <PersonActions p={p} csrf={csrf} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      </section>
      <section class="card">
        <h2>Pending invitations</h2>
        {invitations.length === 0 ? (
          <p id="no-invitations">No pending invitations.</p>
        ) : (
          <TableScroll label="Pending invitations">
            <table id="invitations">
              <thead>
                <tr>
                  <th>Email</th>
                  <th>Role</th>
                  <th>Sent</th>
                  <th>Expires</th>
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {invitations.map((i) => (
                  <tr data-invitation-id={i.id}>
                    <td safe>{i.email}</td>
                    <td>{i.isAdmin ? "Admin" : "Member"}</td>
                    <td>
                      <Time at={i.createdAt} />
                    </td>
                    <td>
                      <Time at={i.expiresAt} />
                    </td>
                    <td class="actions">
                      <PostButton
                        action={`/admin/invitations/${i.id}/revoke`}
                        csrf={csrf}
                        label="Revoke"
                        variant="danger"
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
      <section class="card">
        <h2>Invite someone</h2>
        <ErrorNote message={inviteError} />
        <form method="post" action="/admin/people/invite" id="invite">
          <input type="hidden" name="csrf" value={csrf} />
          <label>
            Email
            <input type="email" name="email" value={form?.email ?? ""} maxlength="254" required />
          </label>
          <label class="choice">
            <input type="checkbox" name="admin" value="on" checked={form?.isAdmin ?? false} /> Make them an admin
          </label>
          <button type="submit">Create invitation link</button>
        </form>
      </section>
    </Layout>
  ) as string;
}

export interface InvitationCreatedProps {
  viewer: Viewer;
  csrf: string;
  email: string;
  link: string;
  expiresAt: number;
}

/** The only time an invitation link is ever shown. */
export function InvitationCreatedPage({ viewer, csrf, email, link, expiresAt }: InvitationCreatedProps): string {
  return (
    <Layout title="Invitation created" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1 safe>{`Invitation for ${email}`}</h1>
        <p>
          Send this link to them yourself. It works once, until <Time at={expiresAt} />, and will not be shown again.
        </p>
        <div class="secret">
          <input type="text" id="invitation-link" value={link} readonly aria-label="Invitation link" />
          <button type="button" data-copy="invitation-link">
            Copy
          </button>
        </div>
        <p>
          <a href="/admin/people">Back to people</a>
        </p>
      </section>
    </Layout>
  ) as string;
}
