import { Elysia } from "elysia";
import { acceptInvitation, InvitationUnusable, usableInvitation } from "../accounts/invitations.ts";
import type { Invitation } from "../accounts/invitations-store.ts";
import { AccountError, minPasswordLength } from "../accounts/users.ts";
import { MessagePage } from "../../views/message.tsx";
import { SetupPage } from "../../views/setup.tsx";
import { allowProviderForms, providerButtons } from "../identity/pages.ts";
import { csrfToken, type CookieJar } from "./cookies.ts";
import { field, startSession } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards } from "../http/page-guards.ts";
import { safeNextPath } from "./next-path.ts";

// /invite/<token>: the invited person chooses a password; the account is
// made, the link used up and the person signed in. Or they sign in through an
// identity provider (src/identity/routes.ts), which carries the token along.
export function inviteRoutes(web: WebDeps, pages: PageGuards) {
  // One page for used, expired, revoked and unknown links: which one is nobody's business.
  const deadLink = () =>
    MessagePage({
      title: "Invitation not valid",
      message:
        "This invitation link is not valid: it may have been used, revoked or have expired. Ask an admin for a new one.",
      link: { href: "/sign-in", label: "Sign in" },
    });
  const invitePage = (
    jar: CookieJar,
    headers: Record<string, unknown>,
    token: string,
    invitation: Invitation,
    next: string,
    error?: string,
  ) => {
    allowProviderForms(headers, web.identityProviders);
    const providers = providerButtons(web.identityProviders);
    const shown = { email: invitation.email, isAdmin: invitation.isAdmin };
    return SetupPage({
      csrf: csrfToken(jar, web.secure),
      token,
      minPasswordLength,
      invitation: shown,
      providers,
      next,
      ...(error && { error }),
    });
  };

  return new Elysia()
    .use(pages)
    .onBeforeHandle(({ set }) => {
      // The link's secret is in the path (app.ts sends Referrer-Policy: no-referrer everywhere).
      set.headers["cache-control"] = "no-store";
    })
    .get("/invite/:token", async ({ params, query, cookie, set }) => {
      const invitation = await usableInvitation(web.db, params.token, web.now());
      if (!invitation) {
        set.status = 404;
        return deadLink();
      }
      return invitePage(cookie, set.headers, params.token, invitation, safeNextPath(query.next, "/keys"));
    })
    .post(
      "/invite/:token",
      async ({ params, body, cookie, audit, set, redirect }) => {
        const next = safeNextPath(field(body, "next"), "/keys");
        try {
          const { user, invitation } = await acceptInvitation(web.db, {
            token: params.token,
            password: field(body, "password"),
            passwordCost: web.config.passwordHashCost,
            now: web.now(),
          });
          await startSession(web, cookie, user.id, null);
          web.log.info("invitation accepted", { user_id: user.id, invitation_id: invitation.id });
          const detail = {
            invitation_id: invitation.id,
            email: user.email,
            admin: user.isAdmin,
            created_by: invitation.createdBy,
          };
          audit.record({ event: "invitation_accepted", outcome: "ok", userId: user.id, detail });
          return redirect(next, 303);
        } catch (error) {
          if (error instanceof InvitationUnusable) {
            set.status = 404;
            return deadLink();
          }
          if (!(error instanceof AccountError)) throw error;
          const invitation = await usableInvitation(web.db, params.token, web.now());
          if (!invitation) {
            set.status = 404;
            return deadLink();
          }
          set.status = 400;
          return invitePage(cookie, set.headers, params.token, invitation, next, error.message);
        }
      },
      { form: true },
    );
}
