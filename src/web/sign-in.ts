import { Elysia, type Context } from "elysia";
import type { PageGuards } from "../http/page-guards.ts";
import { closeSession } from "../accounts/sessions.ts";
import { countActiveAdmins, findUserByEmail } from "../accounts/users-store.ts";
import { normalizeEmail, verifyPassword } from "../accounts/users.ts";
import { authenticateApiKey } from "../keys/api-keys.ts";
import { SignInPage, type SignInProps } from "../../views/sign-in.tsx";
import { allowProviderForms, providerButtons } from "../identity/pages.ts";
import { appNameOfNext } from "./continue-to.ts";
import { clearCookie, csrfToken, type CookieJar } from "./cookies.ts";
import { field, signedIn, startSession } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";
import { safeNextPath } from "./next-path.ts";
import { type RateLimiter, reserveAll } from "../security/rate-limit.ts";

// One message for every failure, so the page never tells whether an account exists.
const failedMessage = "Incorrect email or password.";
const failedKeyMessage = "That API key is not valid.";

export function signInRoutes(web: WebDeps, pages: PageGuards) {
  // The page with a button per identity provider; its CSP lets those buttons' redirects through.
  const signInPage = async (
    headers: Record<string, unknown>,
    props: Omit<SignInProps, "providers" | "firstStart" | "continueTo">,
  ) => {
    allowProviderForms(headers, web.identityProviders);
    const firstStart = (await countActiveAdmins(web.db)) === 0;
    const continueTo = await appNameOfNext(web.db, props.next);
    return SignInPage({ ...props, providers: providerButtons(web.identityProviders), firstStart, continueTo });
  };

  const { perAddress, perAccount } = web.signInFailures;
  /**
   * Counts this attempt as a failure of the address and the account before its secret is
   * checked, or says how many seconds to wait (0: go on). Counting first matters: a password
   * hash takes tens of milliseconds, and attempts sent at once would otherwise all pass a
   * check made before any of them failed. A sign-in that succeeds gives the count back.
   */
  const reserveFailure = (address: string, account: string): Promise<number> => {
    const holds: [RateLimiter, string][] = [[perAddress, address]];
    if (account) holds.push([perAccount, account]);
    return reserveAll(holds);
  };
  /** A sign-in that succeeded: its reserved failure is given back, and the account's failures forgotten. */
  const succeeded = async (address: string, account: string) => {
    await perAddress.release(address);
    if (account) await perAccount.reset(account);
  };

  // A 429, counted as a refusal (GATEHOUSE_METRICS): the sign-in page with the wait in the form that was
  // refused, so the other ways in (an API key, a provider) stay on the page.
  const throttledPage = (
    set: Context["set"],
    jar: CookieJar,
    seconds: number,
    form: "password" | "key",
    next: string,
    email?: string,
  ) => {
    web.metrics.rateLimited("sign_in");
    set.status = 429;
    set.headers["retry-after"] = String(seconds);
    const message = `Too many failed sign-ins. Try again in ${Math.ceil(seconds / 60)} minute(s).`;
    return signInPage(set.headers, { csrf: csrfToken(jar, web.secure), next, email, error: { form, message } });
  };

  return new Elysia()
    .use(pages)
    .get("/", async ({ cookie, redirect }) => redirect((await signedIn(web, cookie)) ? "/keys" : "/sign-in", 303))
    .get("/sign-in", async ({ cookie, query, set, redirect }) => {
      const next = safeNextPath(query.next);
      if (await signedIn(web, cookie)) return redirect(next, 303);
      return signInPage(set.headers, { csrf: csrfToken(cookie, web.secure), next });
    })
    .post(
      "/sign-in",
      async ({ body, cookie, clientIp, audit, set, redirect }) => {
        const next = safeNextPath(field(body, "next"));
        const typed = field(body, "email");
        const email = normalizeEmail(typed) ?? "";
        const wait = await reserveFailure(clientIp, email);
        if (wait > 0) return throttledPage(set, cookie, wait, "password", next, typed);
        const user = email ? await findUserByEmail(web.db, email) : null;
        const ok = await verifyPassword(
          field(body, "password"),
          user?.passwordHash ?? null,
          web.config.passwordHashCost,
        );
        if (!user || !ok || user.disabledAt !== null) {
          web.log.info("sign-in failed", { method: "password" });
          // The email tried, never the password.
          const detail = { method: "password", email: email || typed.trim().slice(0, 200) };
          audit.record({ event: "sign_in_failed", outcome: "denied", userId: user?.id, detail });
          set.status = 401;
          return signInPage(set.headers, {
            csrf: csrfToken(cookie, web.secure),
            next,
            email: typed,
            error: { form: "password", message: failedMessage },
          });
        }
        await succeeded(clientIp, email);
        await startSession(web, cookie, user.id, null);
        web.log.info("sign-in", { method: "password", user_id: user.id });
        audit.record({ event: "sign_in", outcome: "ok", userId: user.id, detail: { method: "password" } });
        return redirect(next, 303);
      },
      { form: true, clientIp: true },
    )
    .post(
      "/sign-in/key",
      async ({ body, cookie, clientIp, audit, set, redirect }) => {
        const next = safeNextPath(field(body, "next"));
        const wait = await reserveFailure(clientIp, "");
        if (wait > 0) return throttledPage(set, cookie, wait, "key", next);
        const found = await authenticateApiKey(web.db, field(body, "api_key").trim(), web.now());
        if (!found) {
          web.log.info("sign-in failed", { method: "api_key" });
          audit.record({ event: "sign_in_failed", outcome: "denied", detail: { method: "api_key" } });
          set.status = 401;
          return signInPage(set.headers, {
            csrf: csrfToken(cookie, web.secure),
            next,
            error: { form: "key", message: failedKeyMessage },
          });
        }
        await succeeded(clientIp, "");
        await startSession(web, cookie, found.user.id, found.apiKey);
        web.log.info("sign-in", { method: "api_key", user_id: found.user.id, api_key_id: found.apiKey.id });
        const who = { userId: found.user.id, apiKeyId: found.apiKey.id };
        audit.record({ event: "sign_in", outcome: "ok", ...who, detail: { method: "api_key" } });
        return redirect(next, 303);
      },
      { form: "/sign-in", clientIp: true },
    )
    .post(
      "/sign-out",
      async ({ cookie, redirect }) => {
        const current = await signedIn(web, cookie);
        if (current) await closeSession(web.db, current.session.id);
        clearCookie(cookie, web.sessionCookie, web.secure);
        return redirect("/sign-in", 303);
      },
      { form: "/" },
    );
}
