import { Elysia } from "elysia";
import { acceptInvitation, InvitationUnusable, usableInvitation } from "../accounts/invitations.ts";
import { AccountError, minPasswordLength } from "../accounts/users.ts";
import { MessagePage } from "../../views/message.tsx";
import { SetupPage } from "../../views/setup.tsx";
import { allowProviderForms, providerButtons } from "../identity/pages.ts";
import { csrfToken } from "./cookies.ts";
import { auditContext, field, formProblem, formRefusedPage, startSession, type WebDeps } from "./context.ts";

// /invite/<token>: the invited person chooses a password; the account is
// made, the link used up and the person signed in. Or they sign in through an
// identity provider (src/identity/routes.ts), which carries the token along.
export function inviteRoutes(web: WebDeps) {
  // One page for used, expired, revoked and unknown links: which one is nobody's business.
  const deadLink = () =>
    MessagePage({
      title: "Invitation not valid",
      message: "This invitation link is not valid: it may have been used, revoked or have expired. Ask an admin for a new one.",
      link: { href: "/sign-in", label: "Sign in" },
    });

  return new Elysia()
    .onAfterHandle(({ set }) => {
      // The link's secret is in the path (app.ts sends Referrer-Policy: no-referrer everywhere).
      set.headers["cache-control"] = "no-store";
    })
    .get("/invite/:token", ({ params, cookie, set }) => {
      const invitation = usableInvitation(web.db, params.token, web.now());
      if (!invitation) {
        set.status = 404;
        return deadLink();
      }
      const csrf = csrfToken(cookie, web.secure);
      allowProviderForms(set.headers, web.identityProviders);
      const providers = providerButtons(web.identityProviders);
      return SetupPage({ csrf, token: params.token, minPasswordLength, invitation: { email: invitation.email, isAdmin: invitation.isAdmin }, providers });
    })
    .post("/invite/:token", async ({ params, body, cookie, request, server, set, redirect }) => {
      const problem = formProblem(web, request, cookie, body);
      if (problem) {
        set.status = 403;
        return formRefusedPage(problem, `/invite/${encodeURIComponent(params.token)}`);
      }
      try {
        const { user, invitation } = await acceptInvitation(web.db, { token: params.token, password: field(body, "password"), now: web.now() });
        startSession(web, cookie, user.id, null);
        web.log.info("invitation accepted", { user_id: user.id, invitation_id: invitation.id });
        const detail = { invitation_id: invitation.id, email: user.email, admin: user.isAdmin, created_by: invitation.createdBy };
        web.audit.record({ event: "invitation_accepted", outcome: "ok", userId: user.id, ...auditContext(web, { request, server, set }), detail });
        return redirect("/keys", 303);
      } catch (error) {
        if (error instanceof InvitationUnusable) {
          set.status = 404;
          return deadLink();
        }
        if (!(error instanceof AccountError)) throw error;
        const invitation = usableInvitation(web.db, params.token, web.now());
        if (!invitation) {
          set.status = 404;
          return deadLink();
        }
        set.status = 400;
        const csrf = csrfToken(cookie, web.secure);
        allowProviderForms(set.headers, web.identityProviders);
        const providers = providerButtons(web.identityProviders);
        return SetupPage({ csrf, token: params.token, error: error.message, minPasswordLength, invitation: { email: invitation.email, isAdmin: invitation.isAdmin }, providers });
      }
    });
}
