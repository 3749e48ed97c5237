import { Elysia } from "elysia";
import { setupLinkWorks } from "../accounts/setup-link.ts";
import { AccountError, createUser, minPasswordLength } from "../accounts/users.ts";
import { MessagePage } from "../../views/message.tsx";
import { SetupPage } from "../../views/setup.tsx";
import { csrfToken } from "./cookies.ts";
import { field, startSession } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";
import type { PageGuards } from "../http/page-guards.ts";
import { safeNextPath } from "./next-path.ts";

// The one-time link logged at start creates the first admin
// (src/accounts/setup-link.ts: any instance's link works on every instance).
// It stops working once any admin exists.
export function setupRoutes(web: WebDeps, pages: PageGuards) {
  const linkWorks = (token: string) => setupLinkWorks(web.db, token);
  const deadLink = () =>
    MessagePage({
      title: "Setup link not valid",
      message: "This setup link is not valid, or an admin already exists. Sign in instead.",
      link: { href: "/sign-in", label: "Sign in" },
    });

  return new Elysia()
    .use(pages)
    .get("/setup", async ({ query, cookie, set }) => {
      const token = query.token ?? "";
      if (!(await linkWorks(token))) {
        set.status = 404;
        return deadLink();
      }
      set.headers["cache-control"] = "no-store";
      return SetupPage({
        csrf: csrfToken(cookie, web.secure),
        token,
        minPasswordLength,
        next: safeNextPath(query.next, "/keys"),
      });
    })
    .post(
      "/setup",
      async ({ body, cookie, set, redirect }) => {
        const token = field(body, "token");
        if (!(await linkWorks(token))) {
          set.status = 404;
          return deadLink();
        }
        const email = field(body, "email");
        const next = safeNextPath(field(body, "next"), "/keys");
        try {
          const user = await createUser(web.db, {
            email,
            password: field(body, "password"),
            passwordCost: web.config.passwordHashCost,
            isAdmin: true,
            now: web.now(),
            onlyIfNoAdmin: true,
          });
          await startSession(web, cookie, user.id, null);
          web.log.info("first admin created", { user_id: user.id });
          return redirect(next, 303);
        } catch (error) {
          if (!(error instanceof AccountError)) throw error;
          set.status = 400;
          return SetupPage({
            csrf: csrfToken(cookie, web.secure),
            token,
            email,
            error: error.message,
            minPasswordLength,
            next,
          });
        }
      },
      { form: "/sign-in" },
    );
}
