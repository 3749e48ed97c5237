import type { Viewer } from "../../views/layout.tsx";
import { MessagePage } from "../../views/message.tsx";
import { csrfToken, type CookieJar } from "./cookies.ts";
import type { SignedIn } from "../accounts/sessions.ts";
import { formProblem, formRefusedPage, signedIn, viewerOf } from "./context.ts";
import type { WebDeps } from "../http/deps.ts";
import { signInUrl } from "./next-path.ts";

// Who may use a page or form post: signed in, the form token checked on
// posts, then a refusal: admins only (admin pages), or no session opened
// with an API key (admin pages and the clients page).

type Status = { status?: number | string };

/** What a guarded form post's handler gets from Elysia. */
export type FormPostCtx = {
  body: unknown;
  cookie: CookieJar;
  request: Request;
  server: import("bun").Server<unknown> | null;
  set: { status?: number | string; headers: Record<string, unknown> };
};

/** The signed-in person behind a guarded page or form post (an admin on admin pages). */
export interface SignedInViewer {
  viewer: Viewer;
  csrf: string;
  userId: string;
}

/** Why this session may not use a page or action (sets 403), or null when it may. */
export type Refusal = (current: SignedIn, set: Status) => string | null;

/**
 * Why a session opened with an API key may not use `pages` (403), or null
 * for any other session. A pasted key acts with at most its own access,
 * which covers neither an admin's work nor setting up what outlives the key.
 */
export function keySessionRefusal(current: SignedIn, set: Status, pages: { title: string; message: string }): string | null {
  if (current.apiKey === null) return null;
  set.status = 403;
  return MessagePage({ ...pages, link: { href: "/keys", label: "Back to API keys" } });
}

/** Why this session may not use an admin page or action (403), or null when it may. */
export function adminRefusal(current: SignedIn, set: Status, what: string): string | null {
  if (!current.user.isAdmin) {
    set.status = 403;
    return MessagePage({ title: "Admins only", message: `Only an admin can manage ${what}.`, link: { href: "/", label: "Home" } });
  }
  // A leaked CI key must not become the account.
  return keySessionRefusal(current, set, {
    title: "Sign in again for admin pages",
    message: "Admin pages need a sign-in with a password or an identity provider, not an API key: sign out and sign in again (an admin without a password gets one with gatehouse user password).",
  });
}

/** The signed-in person for a page, or the response to send instead (sign-in redirect, 403). */
export function guardPage(web: WebDeps, jar: CookieJar, set: Status, path: string, refusal: Refusal): SignedInViewer | { response: Response | string } {
  const current = signedIn(web, jar);
  if (!current) return { response: new Response(null, { status: 303, headers: { location: signInUrl(path) } }) };
  const refused = refusal(current, set);
  if (refused) return { response: refused };
  return { viewer: viewerOf(current), csrf: csrfToken(jar, web.secure), userId: current.user.id };
}

/** The signed-in person for a form post (CSRF checked first), or the page to answer with (403, 401). */
export function guardPost(
  web: WebDeps,
  ctx: { request: Request; jar: CookieJar; body: unknown; set: Status },
  back: string,
  refusal: Refusal,
): SignedInViewer | { response: string } {
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
  const refused = refusal(current, ctx.set);
  if (refused) return { response: refused };
  return { viewer: viewerOf(current), csrf: csrfToken(ctx.jar, web.secure), userId: current.user.id };
}

/** The signed-in admin for a page, or the response to send instead (sign-in redirect, 403). */
export function adminForPage(web: WebDeps, jar: CookieJar, set: Status, path: string, what: string): SignedInViewer | { response: Response | string } {
  return guardPage(web, jar, set, path, (current, s) => adminRefusal(current, s, what));
}

/** The signed-in admin for a form post (CSRF checked first), or the page to answer with (403, 401). */
export function adminForPost(
  web: WebDeps,
  ctx: { request: Request; jar: CookieJar; body: unknown; set: Status },
  back: string,
  what: string,
): SignedInViewer | { response: string } {
  return guardPost(web, ctx, back, (current, s) => adminRefusal(current, s, what));
}
