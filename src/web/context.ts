import { openSession, validateSession, type SignedIn } from "../accounts/sessions.ts";
import type { WebDeps } from "../http/deps.ts";
import { accessLevelOf } from "../keys/api-keys.ts";
import type { Ceiling } from "../mcp/access.ts";
import type { Viewer } from "../../views/layout.tsx";
import { cookieName, readCookie, writeCookie, type CookieJar } from "./cookies.ts";
import { csrfProblem } from "./csrf.ts";
import { MessagePage } from "../../views/message.tsx";

export async function signedIn(web: WebDeps, jar: CookieJar): Promise<SignedIn | null> {
  const token = readCookie(jar, web.sessionCookie);
  return token === null ? null : validateSession(web.db, token, web.now());
}

/**
 * Whether this session may use admin pages and actions: an admin who signed
 * in with a password or an identity provider. A session opened by pasting
 * an API key acts with at most that key's access, which is never admin.
 */
export function actsAsAdmin(s: SignedIn): boolean {
  return s.user.isAdmin && s.apiKey === null;
}

/** The most this session may hand out (keys, consents): its API key's own access, or no limit. */
export function ceilingOf(s: SignedIn): Ceiling {
  return s.apiKey === null
    ? null
    : { level: accessLevelOf(s.apiKey.scope), tools: s.apiKey.tools, limits: s.apiKey.argumentLimits };
}

export function viewerOf(s: SignedIn): Viewer {
  return { email: s.user.email, isAdmin: actsAsAdmin(s) };
}

/** Every value of a repeatable form field (checkboxes), in order; none when missing. */
export function fieldValues(body: unknown, name: string): string[] {
  if (typeof body !== "object" || body === null) return [];
  const value = (body as Record<string, unknown>)[name];
  const values = Array.isArray(value) ? value : [value];
  return values.filter((v): v is string => typeof v === "string");
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

export function sessionCookieName(secure: boolean): string {
  return cookieName("gatehouse_session", secure);
}

export function formRefusedPage(problem: string, back: string): string {
  return MessagePage({ title: "Form refused", message: problem, link: { href: back, label: "Back" } });
}

/** Opens a session and sets its cookie; a session opened with an API key ends no later than the key. */
export async function startSession(
  web: WebDeps,
  jar: CookieJar,
  userId: string,
  apiKey: { id: string; expiresAt: number | null } | null,
): Promise<void> {
  const now = web.now();
  const { token, expiresAt } = await openSession(web.db, {
    userId,
    apiKeyId: apiKey?.id ?? null,
    apiKeyExpiresAt: apiKey?.expiresAt ?? null,
    now,
  });
  writeCookie(jar, web.sessionCookie, token, { secure: web.secure, maxAgeSeconds: expiresAt - now });
}
