import { Elysia, type Context } from "elysia";
import { createInvitation, invitationUrl } from "../accounts/invitations.ts";
import { findOpenInvitation, listOpenInvitations, markInvitationRevoked } from "../accounts/invitations-store.ts";
import { findUserById, listUsers, type User } from "../accounts/users-store.ts";
import { AccountError, disableAccount, enableAccount, lastAdminRefusal, setAdmin } from "../accounts/users.ts";
import type { AuditEntry, AuditLog } from "../audit/entry.ts";
import { ConfirmPage } from "../../views/confirm.tsx";
import { AdminPeoplePage, InvitationCreatedPage, type PersonRow } from "../../views/admin-people.tsx";
import { MessagePage } from "../../views/message.tsx";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards, SignedInContext } from "../http/page-guards.ts";
import type { CookieJar } from "./cookies.ts";
import { field } from "./context.ts";
import { setFlash } from "./flash.ts";
import { applyListQuery, readListQuery, type ListSpec } from "./list-query.ts";

// Settings → People: admins see every account and pending invitation, invite
// someone by a single-use link (shown once), revoke an invitation, disable or
// enable an account, and make or unmake admins. The last active admin can be
// neither disabled nor demoted (checked atomically in src/accounts/users.ts).
// Disable, Remove admin and Revoke ask first on a page of their own
// (views/confirm.tsx); every change then redirects to the list, which says
// what happened once (src/web/flash.ts).

const path = "/admin/people";

/** How one account change reads: where the admin lands, and the message there. */
interface Outcome {
  to: string;
  flash: string | null;
}

const peopleList: ListSpec<PersonRow> = {
  columns: {
    email: { value: (p) => p.email, first: "asc" },
    role: { value: (p) => (p.isAdmin ? "Admin" : "Member"), first: "asc" },
    created: { value: (p) => p.createdAt, first: "desc" },
    status: { value: (p) => (p.disabledAt === null ? "Active" : "Disabled"), first: "asc" },
  },
  fallback: { sort: "created", dir: "asc" },
  text: (p) => [p.email, p.isAdmin ? "Admin" : "Member", p.disabledAt === null ? "Active" : "Disabled"],
};

export function adminPeopleRoutes(web: WebDeps, pages: PageGuards) {
  const listPage = async (
    g: SignedInContext,
    extra: { error?: string; inviteError?: string; form?: { email: string; isAdmin: boolean } } = {},
    search = new URLSearchParams(),
  ) => {
    const list = readListQuery(search, peopleList);
    // Service accounts have their own page.
    const people = (await listUsers(web.db)).filter((u) => u.kind === "person");
    return AdminPeoplePage({
      viewer: g.viewer,
      csrf: g.csrf,
      selfId: g.current.user.id,
      people: applyListQuery(people, list, peopleList),
      activeAdmins: people.filter((p) => p.isAdmin && p.disabledAt === null).length,
      list: { ...list, path: "/admin/people" },
      invitations: await listOpenInvitations(web.db),
      now: web.now(),
      ...extra,
    });
  };

  /** A person's account (not a service account: those have their own page), or null. */
  const findPerson = async (id: string) => {
    const user = await findUserById(web.db, id);
    return user?.kind === "person" ? user : null;
  };

  // Every form post here: the form token first, then an admin's session. A new object per route: Elysia consumes the options it is given.
  const post = () => ({ form: path, admin: "people" }) as const;

  /**
   * One account change by an admin: a redirect with a message on success. A
   * refusal (the last admin) is the list again with the reason as a 400, next
   * to the table it is about, rather than a message that reads like a success.
   */
  const change =
    (
      event: AuditEntry["event"],
      act: (userId: string) => Promise<User>,
      outcome: (u: User, self: boolean) => Outcome,
      detail: (u: User) => Record<string, unknown> = () => ({}),
    ) =>
    async (g: SignedInContext, cookie: CookieJar, audit: AuditLog, set: Context["set"], targetId: string) => {
      const by = g.current.user.id;
      if (!(await findPerson(targetId))) {
        set.status = 404;
        return noSuchPerson();
      }
      try {
        const user = await act(targetId);
        web.log.info(event.replaceAll("_", " "), { user_id: by, target_user_id: user.id });
        audit.record({ event, outcome: "ok", userId: user.id, detail: { by, email: user.email, ...detail(user) } });
        const { to, flash } = outcome(user, user.id === by);
        if (flash !== null) setFlash(cookie, web.secure, flash);
        return Response.redirect(to, 303);
      } catch (error) {
        if (!(error instanceof AccountError)) throw error;
        set.status = 400;
        return listPage(g, { error: error.message });
      }
    };
  const disable = change(
    "user_disabled",
    (id) => disableAccount(web.db, id, web.now()),
    // Disabling yourself ended this session too: nothing is left to show the message.
    (u, self) =>
      self
        ? { to: "/sign-in", flash: null }
        : {
            to: path,
            flash: `Disabled ${u.email}: their sessions ended and their API keys and connections stopped working.`,
          },
  );
  const enable = change(
    "user_enabled",
    (id) => enableAccount(web.db, id),
    (u) => ({
      to: path,
      flash: `Enabled ${u.email}: they can sign in, and their API keys and connections work again.`,
    }),
  );
  const makeAdmin = change(
    "user_admin_changed",
    (id) => setAdmin(web.db, id, true),
    (u) => ({ to: path, flash: `${u.email} is now an admin.` }),
    (u) => ({ admin: u.isAdmin }),
  );
  const removeAdmin = change(
    "user_admin_changed",
    (id) => setAdmin(web.db, id, false),
    // Stepping down closes this page to you: the message waits on your keys page.
    (u, self) => ({ to: self ? "/keys" : path, flash: `${u.email} is no longer an admin.` }),
    (u) => ({ admin: u.isAdmin }),
  );

  /** The confirmation page for an action on a person, or 404 for an unknown id. */
  const confirmPerson = async (
    g: SignedInContext,
    set: Context["set"],
    id: string,
    ask: (u: User, self: boolean) => { question: string; consequences: string[]; confirmLabel: string; action: string },
  ) => {
    const person = await findPerson(id);
    if (!person) {
      set.status = 404;
      return noSuchPerson();
    }
    // Disable and Remove admin would be refused for the last active admin: say so now, as the post would.
    const refusal = await lastAdminRefusal(web.db, person);
    if (refusal) {
      set.status = 400;
      return listPage(g, { error: refusal });
    }
    return ConfirmPage({
      viewer: g.viewer,
      csrf: g.csrf,
      ...ask(person, person.id === g.current.user.id),
      cancel: path,
      // Both can be undone (Enable, Make admin): a plain button.
      danger: false,
    });
  };

  return new Elysia()
    .use(pages)
    .onBeforeHandle(({ set }) => {
      // Invitation links appear on these pages.
      set.headers["cache-control"] = "no-store";
    })
    .get(
      path,
      ({ current, viewer, csrf, request }) =>
        listPage({ current, viewer, csrf }, {}, new URL(request.url).searchParams),
      { admin: "people" },
    )
    .post(
      `${path}/invite`,
      async ({ body, current, viewer, csrf, audit, set }) => {
        const userId = current.user.id;
        const form = { email: field(body, "email"), isAdmin: field(body, "admin") === "on" };
        try {
          const { invitation, token } = await createInvitation(web.db, {
            email: form.email,
            isAdmin: form.isAdmin,
            createdBy: userId,
            now: web.now(),
          });
          web.log.info("invitation created", { user_id: userId, invitation_id: invitation.id });
          audit.record({
            event: "invitation_created",
            outcome: "ok",
            userId,
            detail: { invitation_id: invitation.id, email: invitation.email, admin: invitation.isAdmin, via: "web" },
          });
          // The answer to this POST, not a redirect: the link exists only here (only a hash of
          // its secret is stored), so a page after a redirect would need it stored to show it.
          return InvitationCreatedPage({
            viewer: { ...viewer, flash: `Created an invitation for ${invitation.email}.` },
            csrf,
            email: invitation.email,
            link: invitationUrl(web.config.publicUrl, token),
            expiresAt: invitation.expiresAt,
            now: web.now(),
          });
        } catch (error) {
          if (!(error instanceof AccountError)) throw error;
          set.status = 400;
          return listPage({ current, viewer, csrf }, { inviteError: error.message, form });
        }
      },
      post(),
    )
    .get(
      "/admin/invitations/:id/revoke",
      async ({ viewer, csrf, set, params }) => {
        const invitation = await findOpenInvitation(web.db, params.id);
        if (!invitation) {
          set.status = 404;
          return noSuchInvitation();
        }
        // An expired invitation's link works no more already: this only takes it off the list.
        const expired = invitation.expiresAt <= web.now();
        return ConfirmPage({
          viewer,
          csrf,
          question: `${expired ? "Remove the expired" : "Revoke the"} invitation for ${invitation.email}?`,
          consequences: expired
            ? ["Its link has expired already; it leaves the list of pending invitations.", reinvite]
            : ["The link you sent stops working at once: opening it shows “Invitation not valid”.", reinvite],
          action: `/admin/invitations/${invitation.id}/revoke`,
          confirmLabel: expired ? "Remove invitation" : "Revoke invitation",
          cancel: path,
          danger: true,
        });
      },
      { admin: "people" },
    )
    .post(
      "/admin/invitations/:id/revoke",
      async ({ cookie, current, audit, set, params, redirect }) => {
        const revoked = await markInvitationRevoked(web.db, params.id, web.now());
        if (!revoked) {
          set.status = 404;
          return noSuchInvitation();
        }
        web.log.info("invitation revoked", { user_id: current.user.id, invitation_id: revoked.id });
        audit.record({
          event: "invitation_revoked",
          outcome: "ok",
          userId: current.user.id,
          detail: { invitation_id: revoked.id, email: revoked.email },
        });
        setFlash(cookie, web.secure, `Revoked the invitation for ${revoked.email}: its link no longer works.`);
        return redirect(path, 303);
      },
      post(),
    )
    .get(
      `${path}/:id/disable`,
      ({ current, viewer, csrf, set, params }) =>
        confirmPerson({ current, viewer, csrf }, set, params.id, (u, self) => ({
          question: `Disable ${u.email}?`,
          consequences: [
            "Their sessions end now, and their API keys and connections stop working at once: apps and scripts using them get 401.",
            "Nothing is deleted: Enable brings their keys and connections back.",
            ...(self ? ["That is you: you will be signed out, and only another admin can enable you."] : []),
          ],
          confirmLabel: "Disable account",
          action: `${path}/${u.id}/disable`,
        })),
      { admin: "people" },
    )
    .post(
      `${path}/:id/disable`,
      ({ cookie, current, viewer, csrf, audit, set, params }) =>
        disable({ current, viewer, csrf }, cookie, audit, set, params.id),
      post(),
    )
    .post(
      `${path}/:id/enable`,
      ({ cookie, current, viewer, csrf, audit, set, params }) =>
        enable({ current, viewer, csrf }, cookie, audit, set, params.id),
      post(),
    )
    .post(
      `${path}/:id/make-admin`,
      ({ cookie, current, viewer, csrf, audit, set, params }) =>
        makeAdmin({ current, viewer, csrf }, cookie, audit, set, params.id),
      post(),
    )
    .get(
      `${path}/:id/remove-admin`,
      ({ current, viewer, csrf, set, params }) =>
        confirmPerson({ current, viewer, csrf }, set, params.id, (u, self) => ({
          question: `Remove admin from ${u.email}?`,
          consequences: [
            "They lose the admin pages (People, Service accounts, All clients, Upstreams, Audit log) at once, and their API keys no longer read /metrics or introspect tokens.",
            "Their own API keys and connections keep working.",
            ...(self ? ["That is you: these pages close for you when you confirm."] : []),
          ],
          confirmLabel: "Remove admin",
          action: `${path}/${u.id}/remove-admin`,
        })),
      { admin: "people" },
    )
    .post(
      `${path}/:id/remove-admin`,
      ({ cookie, current, viewer, csrf, audit, set, params }) =>
        removeAdmin({ current, viewer, csrf }, cookie, audit, set, params.id),
      post(),
    );
}

function noSuchPerson(): string {
  return MessagePage({
    title: "No such person",
    message: "That account does not exist.",
    link: { href: path, label: "Back to people" },
  });
}

const reinvite = "You can invite them again later; they would need the new link.";

function noSuchInvitation(): string {
  return MessagePage({
    title: "No such invitation",
    message: "That invitation was already used or revoked.",
    link: { href: path, label: "Back to people" },
  });
}
