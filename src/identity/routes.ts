import { Elysia, type Context } from "elysia";
import * as oauth from "oauth4webapi";
import { InvitationUnusable, usableInvitation } from "../accounts/invitations.ts";
import { AccountError } from "../accounts/users.ts";
import { clearCookie, readCookie, writeCookie } from "../web/cookies.ts";
import type { AuditLog } from "../audit/entry.ts";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards } from "../http/page-guards.ts";
import { field, startSession } from "../web/context.ts";
import { safeNextPath } from "../web/next-path.ts";
import { MessagePage } from "../../views/message.tsx";
import { matchAccount } from "./account-match.ts";
import type { IdentityProviderConfig } from "./config.ts";
import { decodeFlow, encodeFlow, flowCookieName, flowTtlSeconds, type SignInFlow } from "./flow-cookie.ts";
import { githubAuthorizationUrl, githubIdentity } from "./github.ts";
import { cachedDiscovery, oidcAuthorizationUrl, oidcIdentity } from "./oidc.ts";
import { asRefusal, type ProviderIdentity } from "./outbound.ts";
import { refusalPage, SignInRefused } from "./refusals.ts";

// POST /sign-in/<id> starts a sign-in through a configured provider (the
// sign-in or invitation page's button); GET /sign-in/<id>/callback is where
// the provider sends the browser back. The flow's secrets live in a cookie.

export function identityRoutes(web: WebDeps, pages: PageGuards) {
  // One discovery per provider for this app, not two per sign-in.
  const discovery = cachedDiscovery();
  const authorizationUrl = (p: IdentityProviderConfig, flow: SignInFlow, redirectUri: string) =>
    p.type === "github"
      ? githubAuthorizationUrl(p, flow, redirectUri)
      : oidcAuthorizationUrl(discovery, p, flow, redirectUri);
  const identityOf = (
    p: IdentityProviderConfig,
    flow: SignInFlow,
    callback: URL,
    redirectUri: string,
  ): Promise<ProviderIdentity> =>
    p.type === "github"
      ? githubIdentity(p, flow, callback, redirectUri)
      : oidcIdentity(discovery, p, flow, callback, redirectUri);
  const providers = web.identityProviders ?? [];
  const byId = (id: string) => providers.find((p) => p.id === id) ?? null;
  const redirectUri = (p: IdentityProviderConfig) => `${web.config.publicUrl}/sign-in/${p.id}/callback`;
  const flowCookie = flowCookieName(web.secure);
  const unknownProvider = () =>
    MessagePage({
      title: "Not found",
      message: "There is no such sign-in provider.",
      link: { href: "/sign-in", label: "Back to sign-in" },
    });

  /** The refusal page for a sign-in that failed, logged and in the audit log; its status goes in `set`. */
  const refuse = (
    audit: AuditLog,
    set: Context["set"],
    p: IdentityProviderConfig,
    error: unknown,
    email: string | null = null,
  ) => {
    const refusal = asRefusal(error);
    web.log.info("sign-in failed", {
      method: "provider",
      provider: p.id,
      reason: refusal.reason,
      ...(refusal.internal && { detail: refusal.internal }),
    });
    const detail = { method: "provider", provider: p.id, reason: refusal.reason, ...(email && { email }) };
    audit.record({ event: "sign_in_failed", outcome: "denied", detail });
    const page = refusalPage(refusal.reason, p.name);
    set.status = page.status;
    return MessagePage({
      title: page.title,
      message: page.message,
      link: { href: "/sign-in", label: "Back to sign-in" },
    });
  };

  return new Elysia()
    .use(pages)
    .post(
      "/sign-in/:provider",
      async ({ params, body, cookie, audit, set, redirect }) => {
        const p = byId(params.provider);
        if (!p) {
          set.status = 404;
          return unknownProvider();
        }
        const invitation = field(body, "invitation") || null;
        if (invitation !== null && !(await usableInvitation(web.db, invitation, web.now()))) {
          set.status = 404;
          return MessagePage({
            title: "Invitation not valid",
            message:
              "This invitation link is not valid: it may have been used, revoked or have expired. Ask an admin for a new one.",
            link: { href: "/sign-in", label: "Sign in" },
          });
        }
        const flow: SignInFlow = {
          provider: p.id,
          state: oauth.generateRandomState(),
          nonce: oauth.generateRandomNonce(),
          verifier: oauth.generateRandomCodeVerifier(),
          next: safeNextPath(field(body, "next"), invitation ? "/keys" : "/"),
          invitation,
          expiresAt: web.now() + flowTtlSeconds,
        };
        let url: URL;
        try {
          url = await authorizationUrl(p, flow, redirectUri(p));
        } catch (error) {
          return refuse(audit, set, p, error);
        }
        writeCookie(cookie, flowCookie, encodeFlow(flow), { secure: web.secure, maxAgeSeconds: flowTtlSeconds });
        return redirect(url.href, 303);
      },
      { form: "/sign-in" },
    )
    .get("/sign-in/:provider/callback", async ({ params, cookie, request, audit, set, redirect }) => {
      set.headers["cache-control"] = "no-store";
      const p = byId(params.provider);
      if (!p) {
        set.status = 404;
        return unknownProvider();
      }
      const flow = decodeFlow(readCookie(cookie, flowCookie), web.now());
      // Used once, whatever happens next.
      if (cookie[flowCookie]?.value !== undefined) clearCookie(cookie, flowCookie, web.secure);
      if (!flow || flow.provider !== p.id) return refuse(audit, set, p, new SignInRefused("flow_expired"));
      const callback = new URL(request.url);
      if (callback.searchParams.getAll("state").length !== 1 || callback.searchParams.get("state") !== flow.state) {
        return refuse(audit, set, p, new SignInRefused("state_mismatch"));
      }
      let identity: ProviderIdentity;
      try {
        identity = await identityOf(p, flow, callback, redirectUri(p));
      } catch (error) {
        return refuse(audit, set, p, error);
      }
      let match: Awaited<ReturnType<typeof matchAccount>>;
      try {
        match = await matchAccount(web.db, p, identity, { invitationToken: flow.invitation, now: web.now() });
      } catch (error) {
        // A link or invitation used by another sign-in at the same moment.
        const refusal =
          error instanceof InvitationUnusable || error instanceof AccountError
            ? new SignInRefused("no_invitation", error.message)
            : error;
        return refuse(audit, set, p, refusal, identity.email);
      }
      const { user } = match;
      if (match.invitation) {
        const detail = {
          invitation_id: match.invitation.id,
          email: user.email,
          admin: user.isAdmin,
          created_by: match.invitation.createdBy,
          provider: p.id,
        };
        audit.record({ event: "invitation_accepted", outcome: "ok", userId: user.id, detail });
      }
      if (match.linked)
        audit.record({
          event: "identity_linked",
          outcome: "ok",
          userId: user.id,
          detail: { provider: p.id, subject: identity.subject, email: identity.email },
        });
      await startSession(web, cookie, user.id, null);
      web.log.info("sign-in", { method: "provider", provider: p.id, user_id: user.id });
      audit.record({
        event: "sign_in",
        outcome: "ok",
        userId: user.id,
        detail: { method: "provider", provider: p.id },
      });
      // Checked again: the cookie is ours, but a cookie can be planted on plain http.
      return redirect(safeNextPath(flow.next), 303);
    });
}
