import type { Server } from "bun";
import { openSession, validateSession, type SignedIn } from "../accounts/sessions.ts";
import type { AppDeps } from "../app.ts";
import type { RateLimiter } from "../security/rate-limit.ts";
import type { Viewer } from "../../views/layout.tsx";
import { cookieName, readCookie, writeCookie, type CookieJar } from "./cookies.ts";
import { csrfProblem } from "./csrf.ts";
import { MessagePage } from "../../views/message.tsx";

/** What the web routes share: the app's dependencies plus values derived once. */
export interface WebDeps extends AppDeps {
  secure: boolean;
  sessionCookie: string;
  signInFailures: { perAccount: RateLimiter; perAddress: RateLimiter };
}

export function signedIn(web: WebDeps, jar: CookieJar): SignedIn | null {
  const token = readCookie(jar, web.sessionCookie);
  return token === null ? null : validateSession(web.db, token, web.now());
}

export function viewerOf(s: SignedIn): Viewer {
  return { email: s.user.email, isAdmin: s.user.isAdmin };
}

/** A form field as a string; missing, repeated or non-text fields read as "". */
export function field(body: unknown, name: string): string {
  if (typeof body !== "object" || body === null) return "";
  const value = (body as Record<string, unknown>)[name];
  return typeof value === "string" ? value : "";
}

export function formProblem(web: WebDeps, request: Request, jar: CookieJar, body: unknown): string | null {
  return csrfProblem({
    headers: request.headers,
    jar,
    formToken: field(body, "csrf"),
    publicOrigin: web.config.publicUrl,
    secure: web.secure,
  });
}

export function clientAddress(web: WebDeps, request: Request, server: Server<unknown> | null): string {
  if (web.config.trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  return server?.requestIP(request)?.address ?? "unknown";
}

export function sessionCookieName(secure: boolean): string {
  return cookieName("gatehouse_session", secure);
}

export function formRefusedPage(problem: string, back: string): string {
  return MessagePage({ title: "Form refused", message: problem, link: { href: back, label: "Back" } });
}

/** Opens a session and sets its cookie; a session opened with an API key ends no later than the key. */
export function startSession(
  web: WebDeps,
  jar: CookieJar,
  userId: string,
  apiKey: { id: string; expiresAt: number | null } | null,
): void {
  const now = web.now();
  const { token, expiresAt } = openSession(web.db, {
    userId,
    apiKeyId: apiKey?.id ?? null,
    apiKeyExpiresAt: apiKey?.expiresAt ?? null,
    now,
  });
  writeCookie(jar, web.sessionCookie, token, { secure: web.secure, maxAgeSeconds: expiresAt - now });
}
