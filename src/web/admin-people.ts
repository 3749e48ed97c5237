import { Elysia, type Context } from "elysia";
import { createInvitation, invitationUrl } from "../accounts/invitations.ts";
import { listOpenInvitations, markInvitationRevoked } from "../accounts/invitations-store.ts";
import { listUsers, type User } from "../accounts/users-store.ts";
import { AccountError, disableAccount, enableAccount, setAdmin } from "../accounts/users.ts";
import type { AuditEntry, AuditLog } from "../audit/entry.ts";
import { AdminPeoplePage, InvitationCreatedPage } from "../../views/admin-people.tsx";
import { MessagePage } from "../../views/message.tsx";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards, SignedInContext } from "../http/page-guards.ts";
import { field } from "./context.ts";

// Settings → People: admins see every account and pending invitation, invite
// someone by a single-use link (shown once), revoke an invitation, disable or
// enable an account, and make or unmake admins. The last active admin can be
// neither disabled nor demoted (checked atomically in src/accounts/users.ts).

export function adminPeopleRoutes(web: WebDeps, pages: PageGuards) {
  const listPage = (
    g: SignedInContext,
    extra: { error?: string; inviteError?: string; form?: { email: string; isAdmin: boolean } } = {},
  ) =>
    AdminPeoplePage({
      viewer: g.viewer,
      csrf: g.csrf,
      selfId: g.current.user.id,
      // Service accounts have their own page.
      people: listUsers(web.db).filter((u) => u.kind === "person"),
      invitations: listOpenInvitations(web.db),
      now: web.now(),
      ...extra,
    });

  // Every form post here: the form token first, then an admin's session. A new object per route: Elysia consumes the options it is given.
  const post = () => ({ form: "/admin/people", admin: "people" }) as const;

  /** One account change by an admin: the list again on success, or with the refusal as a 400. */
  const change =
    (
      event: AuditEntry["event"],
      act: (userId: string) => User,
      detail: (u: User) => Record<string, unknown> = () => ({}),
    ) =>
    (g: SignedInContext, audit: AuditLog, set: Context["set"], targetId: string) => {
      const by = g.current.user.id;
      try {
        const user = act(targetId);
        web.log.info(event.replaceAll("_", " "), { user_id: by, target_user_id: user.id });
        audit.record({ event, outcome: "ok", userId: user.id, detail: { by, email: user.email, ...detail(user) } });
        return Response.redirect("/admin/people", 303);
      } catch (error) {
        if (!(error instanceof AccountError)) throw error;
        set.status = 400;
        return listPage(g, { error: error.message });
      }
    };
  const disable = change("user_disabled", (id) => disableAccount(web.db, id, web.now()));
  const enable = change("user_enabled", (id) => enableAccount(web.db, id));
  const makeAdmin = change(
    "user_admin_changed",
    (id) => setAdmin(web.db, id, true),
    (u) => ({ admin: u.isAdmin }),
  );
  const removeAdmin = change(
    "user_admin_changed",
    (id) => setAdmin(web.db, id, false),
    (u) => ({ admin: u.isAdmin }),
  );

  return new Elysia()
    .use(pages)
    .onBeforeHandle(({ set }) => {
      // Invitation links appear on these pages.
      set.headers["cache-control"] = "no-store";
    })
    .get("/admin/people", ({ current, viewer, csrf }) => listPage({ current, viewer, csrf }), { admin: "people" })
    .post(
      "/admin/people/invite",
      ({ body, current, viewer, csrf, audit, set }) => {
        const userId = current.user.id;
        const form = { email: field(body, "email"), isAdmin: field(body, "admin") === "on" };
        try {
          const { invitation, token } = createInvitation(web.db, {
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
          const link = invitationUrl(web.config.publicUrl, token);
          return InvitationCreatedPage({
            viewer,
            csrf,
            email: invitation.email,
            link,
            expiresAt: invitation.expiresAt,
          });
        } catch (error) {
          if (!(error instanceof AccountError)) throw error;
          set.status = 400;
          return listPage({ current, viewer, csrf }, { inviteError: error.message, form });
        }
      },
      post(),
    )
    .post(
      "/admin/invitations/:id/revoke",
      ({ current, audit, set, params, redirect }) => {
        const revoked = markInvitationRevoked(web.db, params.id, web.now());
        if (!revoked) {
          set.status = 404;
          return MessagePage({
            title: "No such invitation",
            message: "That invitation was already used or revoked.",
            link: { href: "/admin/people", label: "Back to people" },
          });
        }
        web.log.info("invitation revoked", { user_id: current.user.id, invitation_id: revoked.id });
        audit.record({
          event: "invitation_revoked",
          outcome: "ok",
          userId: current.user.id,
          detail: { invitation_id: revoked.id, email: revoked.email },
        });
        return redirect("/admin/people", 303);
      },
      post(),
    )
    .post(
      "/admin/people/:id/disable",
      ({ current, viewer, csrf, audit, set, params }) => disable({ current, viewer, csrf }, audit, set, params.id),
      post(),
    )
    .post(
      "/admin/people/:id/enable",
      ({ current, viewer, csrf, audit, set, params }) => enable({ current, viewer, csrf }, audit, set, params.id),
      post(),
    )
    .post(
      "/admin/people/:id/make-admin",
      ({ current, viewer, csrf, audit, set, params }) => makeAdmin({ current, viewer, csrf }, audit, set, params.id),
      post(),
    )
    .post(
      "/admin/people/:id/remove-admin",
      ({ current, viewer, csrf, audit, set, params }) => removeAdmin({ current, viewer, csrf }, audit, set, params.id),
      post(),
    );
}
