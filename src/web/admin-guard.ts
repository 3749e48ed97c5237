import type { Viewer } from "../../views/layout.tsx";
import { MessagePage } from "../../views/message.tsx";
import { csrfToken, type CookieJar } from "./cookies.ts";
import { formProblem, formRefusedPage, signedIn, viewerOf, type WebDeps } from "./context.ts";
import { signInUrl } from "./next-path.ts";

type Status = { status?: number | string };

/** What an admin form post's handler gets from Elysia. */
export type AdminPostCtx = {
  body: unknown;
  cookie: CookieJar;
  request: Request;
  server: import("bun").Server<unknown> | null;
  set: { status?: number | string; headers: Record<string, unknown> };
};

/** The signed-in admin behind an admin page or form post. */
export interface AdminViewer {
  viewer: Viewer;
  csrf: string;
  userId: string;
}

const forbiddenPage = (what: string) => MessagePage({ title: "Admins only", message: `Only an admin can manage ${what}.`, link: { href: "/", label: "Home" } });

/** The signed-in admin for a page, or the response to send instead (sign-in redirect, 403). */
export function adminForPage(web: WebDeps, jar: CookieJar, set: Status, path: string, what: string): AdminViewer | { response: Response | string } {
  const current = signedIn(web, jar);
  if (!current) return { response: new Response(null, { status: 303, headers: { location: signInUrl(path) } }) };
  if (!current.user.isAdmin) {
    set.status = 403;
    return { response: forbiddenPage(what) };
  }
  return { viewer: viewerOf(current), csrf: csrfToken(jar, web.secure), userId: current.user.id };
}

/** The signed-in admin for a form post (CSRF checked first), or the page to answer with (403, 401). */
export function adminForPost(
  web: WebDeps,
  ctx: { request: Request; jar: CookieJar; body: unknown; set: Status },
  back: string,
  what: string,
): AdminViewer | { response: string } {
  const problem = formProblem(web, ctx.request, ctx.jar, ctx.body);
  if (problem) {
    ctx.set.status = 403;
    return { response: formRefusedPage(problem, back) };
  }
  const current = signedIn(web, ctx.jar);
  if (!current) {
    ctx.set.status = 401;
    return { response: MessagePage({ title: "Signed out", message: "Your session ended. Sign in again.", link: { href: signInUrl(back), label: "Sign in" } }) };
  }
  if (!current.user.isAdmin) {
    ctx.set.status = 403;
    return { response: forbiddenPage(what) };
  }
  return { viewer: viewerOf(current), csrf: csrfToken(ctx.jar, web.secure), userId: current.user.id };
}
