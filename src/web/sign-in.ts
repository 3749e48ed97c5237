import { Elysia } from "elysia";
import { clientAddress } from "../http/request-context.ts";
import { closeSession } from "../accounts/sessions.ts";
import { findUserByEmail } from "../accounts/users-store.ts";
import { normalizeEmail, verifyPassword } from "../accounts/users.ts";
import { authenticateApiKey } from "../keys/api-keys.ts";
import { MessagePage } from "../../views/message.tsx";
import { SignInPage, type SignInProps } from "../../views/sign-in.tsx";
import { allowProviderForms, providerButtons } from "../identity/pages.ts";
import { clearCookie, csrfToken } from "./cookies.ts";
import { auditContext, field, formProblem, formRefusedPage, signedIn, startSession } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";
import { safeNextPath } from "./next-path.ts";

// One message for every failure, so the page never tells whether an account exists.
const failedMessage = "Incorrect email or password.";
const failedKeyMessage = "That API key is not valid.";

export function signInRoutes(web: WebDeps) {
  // The page with a button per identity provider; its CSP lets those buttons' redirects through.
  const signInPage = (set: { headers: Record<string, unknown> }, props: Omit<SignInProps, "providers">) => {
    allowProviderForms(set.headers, web.identityProviders);
    return SignInPage({ ...props, providers: providerButtons(web.identityProviders) });
  };

  /** Seconds to wait before this account or address may try again; 0 when it may. */
  const throttled = (address: string, account: string) =>
    Math.max(web.signInFailures.perAddress.retryAfter(address), account ? web.signInFailures.perAccount.retryAfter(account) : 0);

  const recordFailure = (address: string, account: string) => {
    web.signInFailures.perAddress.hit(address);
    if (account) web.signInFailures.perAccount.hit(account);
  };

  const throttledPage = (seconds: number) =>
    MessagePage({
      title: "Too many attempts",
      message: `Too many failed sign-ins. Try again in ${Math.ceil(seconds / 60)} minute(s).`,
      link: { href: "/sign-in", label: "Back to sign-in" },
    });

  return new Elysia()
    .get("/", ({ cookie, redirect }) => redirect(signedIn(web, cookie) ? "/keys" : "/sign-in", 303))
    .get("/sign-in", ({ cookie, query, set, redirect }) => {
      const next = safeNextPath(query.next);
      if (signedIn(web, cookie)) return redirect(next, 303);
      return signInPage(set, { csrf: csrfToken(cookie, web.secure), next });
    })
    .post("/sign-in", async ({ body, cookie, request, server, set, redirect }) => {
      const problem = formProblem(web, request, cookie, body);
      if (problem) {
        set.status = 403;
        return formRefusedPage(problem, "/sign-in");
      }
      const next = safeNextPath(field(body, "next"));
      const typed = field(body, "email");
      const email = normalizeEmail(typed) ?? "";
      const address = clientAddress(web.config, request, server);
      const wait = throttled(address, email);
      if (wait > 0) {
        set.status = 429;
        set.headers["retry-after"] = String(wait);
        return throttledPage(wait);
      }
      const user = email ? findUserByEmail(web.db, email) : null;
      const ok = await verifyPassword(field(body, "password"), user?.passwordHash ?? null);
      if (!user || !ok || user.disabledAt !== null) {
        recordFailure(address, email);
        web.log.info("sign-in failed", { method: "password" });
        // The email tried, never the password.
        const detail = { method: "password", email: email || typed.trim().slice(0, 200) };
        web.audit.record({ event: "sign_in_failed", outcome: "denied", userId: user?.id, ...auditContext(web, { request, server, set }), detail });
        set.status = 401;
        return signInPage(set, { csrf: csrfToken(cookie, web.secure), next, email: typed, error: failedMessage });
      }
      web.signInFailures.perAccount.reset(email);
      startSession(web, cookie, user.id, null);
      web.log.info("sign-in", { method: "password", user_id: user.id });
      web.audit.record({ event: "sign_in", outcome: "ok", userId: user.id, ...auditContext(web, { request, server, set }), detail: { method: "password" } });
      return redirect(next, 303);
    })
    .post("/sign-in/key", ({ body, cookie, request, server, set, redirect }) => {
      const problem = formProblem(web, request, cookie, body);
      if (problem) {
        set.status = 403;
        return formRefusedPage(problem, "/sign-in");
      }
      const next = safeNextPath(field(body, "next"));
      const address = clientAddress(web.config, request, server);
      const wait = throttled(address, "");
      if (wait > 0) {
        set.status = 429;
        set.headers["retry-after"] = String(wait);
        return throttledPage(wait);
      }
      const found = authenticateApiKey(web.db, field(body, "api_key").trim(), web.now());
      if (!found) {
        recordFailure(address, "");
        web.log.info("sign-in failed", { method: "api_key" });
        web.audit.record({ event: "sign_in_failed", outcome: "denied", ...auditContext(web, { request, server, set }), detail: { method: "api_key" } });
        set.status = 401;
        return signInPage(set, { csrf: csrfToken(cookie, web.secure), next, error: failedKeyMessage });
      }
      startSession(web, cookie, found.user.id, found.apiKey);
      web.log.info("sign-in", { method: "api_key", user_id: found.user.id, api_key_id: found.apiKey.id });
      const who = { userId: found.user.id, apiKeyId: found.apiKey.id };
      web.audit.record({ event: "sign_in", outcome: "ok", ...who, ...auditContext(web, { request, server, set }), detail: { method: "api_key" } });
      return redirect(next, 303);
    })
    .post("/sign-out", ({ body, cookie, request, set, redirect }) => {
      const problem = formProblem(web, request, cookie, body);
      if (problem) {
        set.status = 403;
        return formRefusedPage(problem, "/");
      }
      const current = signedIn(web, cookie);
      if (current) closeSession(web.db, current.session.id);
      clearCookie(cookie, web.sessionCookie, web.secure);
      return redirect("/sign-in", 303);
    });
}
