import { Time } from "./format.tsx";
import { ErrorNote, PostButton, ActionsHeader, TableScroll, ConfirmLink } from "./parts.tsx";
import { Layout, type Viewer } from "./layout.tsx";
import { NoMatches, SearchBox, SortHeader, type ListView } from "./list-controls.tsx";

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
  /** The people who match the search, in the asked order. */
  people: PersonRow[];
  list: ListView;
  /** Invitations neither used nor revoked: pending, and expired ones (shown as such) until removed or sent again. */
  invitations: InvitationRow[];
  /** How many admins are active, among everyone (not only the rows a search shows): who is the last. */
  activeAdmins: number;
  /** The app's clock (unix seconds), for relative times and which invitations have expired. */
  now: number;
  /** The signed-in admin, whose row says so. */
  selfId: string;
  /** Why an account change was refused. */
  error?: string;
  /** Why the invitation form was refused, shown in it, with the form as posted. */
  inviteError?: string;
  form?: { email: string; isAdmin: boolean };
}

/**
 * A person's buttons. Those that would always be refused are left out, with why: nobody disables
 * themselves here, and the last active admin can be neither disabled nor demoted (src/accounts/users.ts).
 */
function PersonActions({
  p,
  csrf,
  self,
  lastAdmin,
}: {
  p: PersonRow;
  csrf: string;
  self: boolean;
  lastAdmin: boolean;
}): string {
  const base = `/admin/people/${p.id}`;
  const why = self && lastAdmin ? "You, the last admin" : self ? "You" : lastAdmin ? "Last admin" : "";
  return (
    <>
      {why ? <span class="muted held">{why}</span> : ""}
      {p.disabledAt !== null ? (
        <PostButton action={`${base}/enable`} csrf={csrf} label="Enable" variant="secondary" />
      ) : self || lastAdmin ? (
        ""
      ) : (
        <ConfirmLink href={`${base}/disable`} label="Disable" subject={p.email} variant="danger" />
      )}
      {!p.isAdmin ? (
        <PostButton action={`${base}/make-admin`} csrf={csrf} label="Make admin" variant="secondary" />
      ) : lastAdmin ? (
        ""
      ) : (
        <ConfirmLink href={`${base}/remove-admin`} label="Remove admin" subject={p.email} variant="secondary" />
      )}
    </>
  ) as string;
}

/** An expired invitation's way forward: a new link for the same email and role (the expired one then leaves the list). */
function InviteAgain({ i, csrf }: { i: InvitationRow; csrf: string }): string {
  return (
    <form method="post" action="/admin/people/invite" class="inline">
      <input type="hidden" name="csrf" value={csrf} />
      <input type="hidden" name="email" value={i.email} />
      {i.isAdmin ? <input type="hidden" name="admin" value="on" /> : ""}
      <button type="submit" class="secondary">
        Invite again
      </button>
    </form>
  ) as string;
}

/** Settings → People: accounts, pending invitations, and a form to invite someone. */
export function AdminPeoplePage({
  viewer,
  csrf,
  people,
  list,
  activeAdmins,
  invitations,
  now,
  selfId,
  error,
  inviteError,
  form,
}: AdminPeopleProps): string {
  return (
    <Layout title="People" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1>People</h1>
        <p class="muted">
          Disabling someone ends their sessions and stops their API keys and connected apps at once. The last active
          admin can be neither disabled nor demoted: make someone else an admin first.
        </p>
        <ErrorNote message={error} />
        <SearchBox list={list} label="Search people" />
        {people.length === 0 ? (
          <NoMatches list={list} id="no-people" />
        ) : (
          <TableScroll label="People">
            <table id="people" class="stack">
              <thead>
                <tr>
                  <SortHeader list={list} column="email" label="Email" first="asc" />
                  <SortHeader list={list} column="role" label="Role" first="asc" />
                  <SortHeader list={list} column="created" label="Created" first="desc" />
                  <SortHeader list={list} column="status" label="Status" first="asc" />
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {people.map((p) => (
                  <tr data-user-id={p.id}>
                    <td class="name owner">
                      <span safe>{p.email}</span>
                      {p.id === selfId ? <span class="muted"> (you)</span> : ""}
                    </td>
                    <td data-label="Role">{p.isAdmin ? "Admin" : "Member"}</td>
                    <td data-label="Created">
                      <Time at={p.createdAt} now={now} />
                    </td>
                    <td data-label="Status">
                      {p.disabledAt === null ? (
                        "Active"
                      ) : (
                        <>
                          Disabled <Time at={p.disabledAt} now={now} />
                        </>
                      )}
                    </td>
                    <td class="actions">
                      <PersonActions
                        p={p}
                        csrf={csrf}
                        self={p.id === selfId}
                        lastAdmin={p.isAdmin && p.disabledAt === null && activeAdmins === 1}
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
        <h2>Pending invitations</h2>
        {invitations.length === 0 ? (
          <p id="no-invitations">No pending invitations.</p>
        ) : (
          <TableScroll label="Pending invitations">
            <table id="invitations" class="stack">
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
                {invitations.map((i) => {
                  const expired = i.expiresAt <= now;
                  return (
                    <tr data-invitation-id={i.id} class={expired ? "expired" : undefined}>
                      <td class="name owner" safe>
                        {i.email}
                      </td>
                      <td data-label="Role">{i.isAdmin ? "Admin" : "Member"}</td>
                      <td data-label="Sent">
                        <Time at={i.createdAt} now={now} />
                      </td>
                      <td data-label="Expires">
                        {expired ? <strong class="state">Expired</strong> : ""} <Time at={i.expiresAt} now={now} />
                      </td>
                      <td class="actions">
                        {expired ? <InviteAgain i={i} csrf={csrf} /> : ""}
                        <ConfirmLink
                          href={`/admin/invitations/${i.id}/revoke`}
                          label={expired ? "Remove" : "Revoke"}
                          subject={i.email}
                          variant="danger"
                        />
                      </td>
                    </tr>
                  );
                })}
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
  /** The app's clock (unix seconds), for relative times. */
  now: number;
}

/** The only time an invitation link is ever shown. */
export function InvitationCreatedPage({ viewer, csrf, email, link, expiresAt, now }: InvitationCreatedProps): string {
  return (
    <Layout title="Invitation created" viewer={viewer} csrf={csrf}>
      <section class="card">
        <h1 safe>{`Invitation for ${email}`}</h1>
        <p>
          Send this link to them yourself. It works once, expires <Time at={expiresAt} now={now} />, and will not be
          shown again.
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
