import { Elysia } from "elysia";
import { createInvitation, invitationUrl } from "../accounts/invitations.ts";
import { listPendingInvitations, markInvitationRevoked } from "../accounts/invitations-store.ts";
import { listUsers, type User } from "../accounts/users-store.ts";
import { AccountError, disableAccount, enableAccount, setAdmin } from "../accounts/users.ts";
import type { AuditEntry } from "../audit/entry.ts";
import { AdminPeoplePage, InvitationCreatedPage } from "../../views/admin-people.tsx";
import { MessagePage } from "../../views/message.tsx";
import { adminForPage, adminForPost, type FormPostCtx, type SignedInViewer } from "./admin-guard.ts";
import { auditContext, field } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";

// Settings → People: admins see every account and pending invitation, invite
// someone by a single-use link (shown once), revoke an invitation, disable or
// enable an account, and make or unmake admins. The last active admin can be
// neither disabled nor demoted (checked atomically in src/accounts/users.ts).

type Ctx = FormPostCtx;

export function adminPeopleRoutes(web: WebDeps) {
  const listPage = (g: SignedInViewer, extra: { error?: string; form?: { email: string; isAdmin: boolean } } = {}) =>
    AdminPeoplePage({
      viewer: g.viewer,
      csrf: g.csrf,
      selfId: g.userId,
      // Service accounts have their own page.
      people: listUsers(web.db).filter((u) => u.kind === "person"),
      invitations: listPendingInvitations(web.db, web.now()),
      ...extra,
    });

  const guardPost = (ctx: Ctx) => adminForPost(web, { request: ctx.request, jar: ctx.cookie, body: ctx.body, set: ctx.set }, "/admin/people", "people");
  const audit = (ctx: Ctx, entry: AuditEntry) => web.audit.record({ ...auditContext(web, ctx), ...entry });

  /** One account change by an admin: the list again on success, or with the refusal as a 400. */
  const change = (event: AuditEntry["event"], act: (userId: string) => User, detail: (u: User) => Record<string, unknown> = () => ({})) =>
    (ctx: Ctx & { params: { id: string }; redirect: (url: string, status: 303) => Response }) => {
      const g = guardPost(ctx);
      if ("response" in g) return g.response;
      try {
        const user = act(ctx.params.id);
        web.log.info(event.replaceAll("_", " "), { user_id: g.userId, target_user_id: user.id });
        audit(ctx, { event, outcome: "ok", userId: user.id, detail: { by: g.userId, email: user.email, ...detail(user) } });
        return ctx.redirect("/admin/people", 303);
      } catch (error) {
        if (!(error instanceof AccountError)) throw error;
        ctx.set.status = 400;
        return listPage(g, { error: error.message });
      }
    };

  return new Elysia()
    .onAfterHandle(({ set }) => {
      // Invitation links appear on these pages.
      set.headers["cache-control"] = "no-store";
    })
    .get("/admin/people", ({ cookie, set }) => {
      const g = adminForPage(web, cookie, set, "/admin/people", "people");
      return "response" in g ? g.response : listPage(g);
    })
    .post("/admin/people/invite", (ctx) => {
      const g = guardPost(ctx);
      if ("response" in g) return g.response;
      const form = { email: field(ctx.body, "email"), isAdmin: field(ctx.body, "admin") === "on" };
      try {
        const { invitation, token } = createInvitation(web.db, { email: form.email, isAdmin: form.isAdmin, createdBy: g.userId, now: web.now() });
        web.log.info("invitation created", { user_id: g.userId, invitation_id: invitation.id });
        audit(ctx, { event: "invitation_created", outcome: "ok", userId: g.userId, detail: { invitation_id: invitation.id, email: invitation.email, admin: invitation.isAdmin, via: "web" } });
        const link = invitationUrl(web.config.publicUrl, token);
        return InvitationCreatedPage({ viewer: g.viewer, csrf: g.csrf, email: invitation.email, link, expiresAt: invitation.expiresAt });
      } catch (error) {
        if (!(error instanceof AccountError)) throw error;
        ctx.set.status = 400;
        return listPage(g, { error: error.message, form });
      }
    })
    .post("/admin/invitations/:id/revoke", (ctx) => {
      const g = guardPost(ctx);
      if ("response" in g) return g.response;
      const revoked = markInvitationRevoked(web.db, ctx.params.id, web.now());
      if (!revoked) {
        ctx.set.status = 404;
        return MessagePage({ title: "No such invitation", message: "That invitation was already used, revoked or has expired.", link: { href: "/admin/people", label: "Back to people" } });
      }
      web.log.info("invitation revoked", { user_id: g.userId, invitation_id: revoked.id });
      audit(ctx, { event: "invitation_revoked", outcome: "ok", userId: g.userId, detail: { invitation_id: revoked.id, email: revoked.email } });
      return ctx.redirect("/admin/people", 303);
    })
    .post("/admin/people/:id/disable", change("user_disabled", (id) => disableAccount(web.db, id, web.now())))
    .post("/admin/people/:id/enable", change("user_enabled", (id) => enableAccount(web.db, id)))
    .post("/admin/people/:id/make-admin", change("user_admin_changed", (id) => setAdmin(web.db, id, true), (u) => ({ admin: u.isAdmin })))
    .post("/admin/people/:id/remove-admin", change("user_admin_changed", (id) => setAdmin(web.db, id, false), (u) => ({ admin: u.isAdmin })));
}
