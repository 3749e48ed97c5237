import { Elysia } from "elysia";
import type { PageGuards } from "../http/page-guards.ts";
import { closeSession } from "../accounts/sessions.ts";
import { countActiveAdmins, findUserByEmail } from "../accounts/users-store.ts";
import { normalizeEmail, verifyPassword } from "../accounts/users.ts";
import { authenticateApiKey } from "../keys/api-keys.ts";
import { MessagePage } from "../../views/message.tsx";
import { SignInPage, type SignInProps } from "../../views/sign-in.tsx";
import { allowProviderForms, providerButtons } from "../identity/pages.ts";
import { clearCookie, csrfToken } from "./cookies.ts";
import { field, signedIn, startSession } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";
import { safeNextPath } from "./next-path.ts";

// One message for every failure, so the page never tells whether an account exists.
const failedMessage = "Incorrect email or password.";
const failedKeyMessage = "That API key is not valid.";

export function signInRoutes(web: WebDeps, pages: PageGuards) {
  // The page with a button per identity provider; its CSP lets those buttons' redirects through.
  const signInPage = (headers: Record<string, unknown>, props: Omit<SignInProps, "providers" | "firstStart">) => {
    allowProviderForms(headers, web.identityProviders);
    const firstStart = countActiveAdmins(web.db) === 0;
    return SignInPage({ ...props, providers: providerButtons(web.identityProviders), firstStart });
  };

  /** Seconds to wait before this account or address may try again; 0 when it may. */
  const throttled = (address: string, account: string) =>
    Math.max(
      web.signInFailures.perAddress.retryAfter(address),
      account ? web.signInFailures.perAccount.retryAfter(account) : 0,
    );

  const recordFailure = (address: string, account: string) => {
    web.signInFailures.perAddress.hit(address);
    if (account) web.signInFailures.perAccount.hit(account);
  };

  // The 429 page, counted as a refusal (GATEHOUSE_METRICS).
  const throttledPage = (seconds: number) => {
    web.metrics.rateLimited("sign_in");
    return MessagePage({
      title: "Too many attempts",
      message: `Too many failed sign-ins. Try again in ${Math.ceil(seconds / 60)} minute(s).`,
      link: { href: "/sign-in", label: "Back to sign-in" },
    });
  };

  return new Elysia()
    .use(pages)
    .get("/", ({ cookie, redirect }) => redirect(signedIn(web, cookie) ? "/keys" : "/sign-in", 303))
    .get("/sign-in", ({ cookie, query, set, redirect }) => {
      const next = safeNextPath(query.next);
      if (signedIn(web, cookie)) return redirect(next, 303);
      return signInPage(set.headers, { csrf: csrfToken(cookie, web.secure), next });
    })
    .post(
      "/sign-in",
      async ({ body, cookie, clientIp, audit, set, redirect }) => {
        const next = safeNextPath(field(body, "next"));
        const typed = field(body, "email");
        const email = normalizeEmail(typed) ?? "";
        const wait = throttled(clientIp, email);
        if (wait > 0) {
          set.status = 429;
          set.headers["retry-after"] = String(wait);
          return throttledPage(wait);
        }
        const user = email ? findUserByEmail(web.db, email) : null;
        const ok = await verifyPassword(
          field(body, "password"),
          user?.passwordHash ?? null,
          web.config.passwordHashCost,
        );
        if (!user || !ok || user.disabledAt !== null) {
          recordFailure(clientIp, email);
          web.log.info("sign-in failed", { method: "password" });
          // The email tried, never the password.
          const detail = { method: "password", email: email || typed.trim().slice(0, 200) };
          audit.record({ event: "sign_in_failed", outcome: "denied", userId: user?.id, detail });
          set.status = 401;
          return signInPage(set.headers, {
            csrf: csrfToken(cookie, web.secure),
            next,
            email: typed,
            error: failedMessage,
          });
        }
        web.signInFailures.perAccount.reset(email);
        startSession(web, cookie, user.id, null);
        web.log.info("sign-in", { method: "password", user_id: user.id });
        audit.record({ event: "sign_in", outcome: "ok", userId: user.id, detail: { method: "password" } });
        return redirect(next, 303);
      },
      { form: true, clientIp: true },
    )
    .post(
      "/sign-in/key",
      ({ body, cookie, clientIp, audit, set, redirect }) => {
        const next = safeNextPath(field(body, "next"));
        const wait = throttled(clientIp, "");
        if (wait > 0) {
          set.status = 429;
          set.headers["retry-after"] = String(wait);
          return throttledPage(wait);
        }
        const found = authenticateApiKey(web.db, field(body, "api_key").trim(), web.now());
        if (!found) {
          recordFailure(clientIp, "");
          web.log.info("sign-in failed", { method: "api_key" });
          audit.record({ event: "sign_in_failed", outcome: "denied", detail: { method: "api_key" } });
          set.status = 401;
          return signInPage(set.headers, { csrf: csrfToken(cookie, web.secure), next, error: failedKeyMessage });
        }
        startSession(web, cookie, found.user.id, found.apiKey);
        web.log.info("sign-in", { method: "api_key", user_id: found.user.id, api_key_id: found.apiKey.id });
        const who = { userId: found.user.id, apiKeyId: found.apiKey.id };
        audit.record({ event: "sign_in", outcome: "ok", ...who, detail: { method: "api_key" } });
        return redirect(next, 303);
      },
      { form: "/sign-in", clientIp: true },
    )
    .post(
      "/sign-out",
      ({ cookie, redirect }) => {
        const current = signedIn(web, cookie);
        if (current) closeSession(web.db, current.session.id);
        clearCookie(cookie, web.sessionCookie, web.secure);
        return redirect("/sign-in", 303);
      },
      { form: "/" },
    );
}
