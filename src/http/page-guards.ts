import { Elysia, status } from "elysia";
import type { SignedIn } from "../accounts/sessions.ts";
import { adminRefusal, type Refusal } from "../web/admin-guard.ts";
import { csrfToken, type CookieJar } from "../web/cookies.ts";
import { formProblem, formRefusedPage, signedIn, viewerOf } from "../web/context.ts";
import { takeFlash } from "../web/flash.ts";
import { signInUrl } from "../web/next-path.ts";
import { MessagePage } from "../../views/message.tsx";
import type { WebDeps } from "./deps.ts";
import type { RequestContext } from "./request-context.ts";
import type { Viewer } from "../../views/layout.tsx";

/** Who may use a signed-in page or form: a refusal (403) for some sessions. */
export interface SignedInOptions {
  refuse?: Refusal;
}

/** What a guarded route's handler gets: the session, the person as pages show them, and the form token for the page. */
export interface SignedInContext {
  current: SignedIn;
  viewer: Viewer;
  csrf: string;
}

/**
 * A page the guard answers with instead of the route: built as the html
 * plugin builds a route's page, since a refusal from a resolve skips the
 * mapResponse hooks (the headers already in `set` are still sent).
 */
function refusalPage(code: 401 | 403, html: string) {
  return status(code, new Response(html, { headers: { "content-type": "text/html; charset=utf8" } }));
}

/** The `back` the form option resolved before a session guard on a form post, if any. */
function formBack(earlier: object): string | undefined {
  return "back" in earlier && typeof earlier.back === "string" ? earlier.back : undefined;
}

/**
 * The page routes' options, declared per route so protection is on by
 * declaration rather than by a call each handler must remember:
 *
 * - `form: true | back`: the CSRF check of csrf.ts (Origin or Sec-Fetch-Site,
 *   then the form token); a refused post gets a 403 page linking to `back`
 *   (the post's own path when `true`).
 * - `signedIn: true | { refuse }`: a session, else a page GET is sent to
 *   sign in (and back here afterwards) and a form post gets a 401 page; then
 *   `refuse`, if given, may answer 403 for this session.
 * - `admin: what`: signed in as an admin, and not with an API key (adminRefusal).
 *
 * Each resolves in the order written, so every form route names `form` first:
 * the CSRF check comes before anything reads the session
 * (test/http/form-routes.test.ts sends a signed-in post without a token to each). Create once per
 * app (createApp) over the app's one request context.
 */
export function pageGuards(web: WebDeps, context: RequestContext) {
  /** The session for a guarded route, or the answer instead: sign-in redirect (GET), 401 page (POST), 403 refusal. */
  const guard = async (request: Request, cookie: CookieJar, back: string | undefined, refuse: Refusal | undefined) => {
    const current = await signedIn(web, cookie);
    if (!current) {
      const url = new URL(request.url);
      if (request.method === "GET" || request.method === "HEAD") {
        return status(
          303,
          new Response(null, { status: 303, headers: { location: signInUrl(url.pathname + url.search) } }),
        );
      }
      const link = { href: signInUrl(back ?? url.pathname), label: "Sign in" };
      return refusalPage(
        401,
        MessagePage({ title: "Signed out", message: "Your session ended. Sign in again.", link }),
      );
    }
    const refused = refuse?.(current);
    if (refused) return refusalPage(403, refused);
    // A page drawn after an action's redirect shows what the action did, once.
    const flash = request.method === "GET" ? takeFlash(cookie, web.secure) : null;
    const viewer = { ...viewerOf(current), flash };
    return { current, viewer, csrf: csrfToken(cookie, web.secure) } satisfies SignedInContext;
  };

  return new Elysia({ name: "gatehouse/page-guards" }).use(context).macro({
    form: (back: true | string) => ({
      resolve({ body, cookie, request }) {
        const to = back === true ? new URL(request.url).pathname : back;
        const problem = formProblem(web, request, cookie, body);
        if (problem) return refusalPage(403, formRefusedPage(problem, to));
        return { back: to };
      },
    }),
    signedIn: (options: true | SignedInOptions) => ({
      resolve: ({ request, cookie, ...earlier }) =>
        guard(request, cookie, formBack(earlier), options === true ? undefined : options.refuse),
    }),
    admin: (what: string) => ({
      resolve: ({ request, cookie, ...earlier }) =>
        guard(request, cookie, formBack(earlier), (current) => adminRefusal(current, what)),
    }),
  });
}

export type PageGuards = ReturnType<typeof pageGuards>;
