import type { Cookie } from "elysia";
import { randomString } from "../security/tokens.ts";

export type CookieJar = Record<string, Cookie<unknown>>;

// Under https the `__Host-` prefix pins a cookie to this exact origin.
export function cookieName(base: string, secure: boolean): string {
  return secure ? `__Host-${base}` : base;
}

export function readCookie(jar: CookieJar, name: string): string | null {
  const value = jar[name]?.value;
  return typeof value === "string" && value !== "" ? value : null;
}

export function writeCookie(
  jar: CookieJar,
  name: string,
  value: string,
  opts: { secure: boolean; maxAgeSeconds?: number },
): void {
  jar[name]!.set({
    value,
    httpOnly: true,
    sameSite: "lax",
    secure: opts.secure,
    path: "/",
    ...(opts.maxAgeSeconds === undefined ? {} : { maxAge: opts.maxAgeSeconds }),
  });
}

export function clearCookie(jar: CookieJar, name: string, secure: boolean): void {
  writeCookie(jar, name, "", { secure, maxAgeSeconds: 0 });
}

/** The browser's form token (double-submit cookie), created on first use. */
export function csrfToken(jar: CookieJar, secure: boolean): string {
  const name = cookieName("gatehouse_csrf", secure);
  const existing = readCookie(jar, name);
  if (existing && /^[a-z2-7]{26}$/.test(existing)) return existing;
  const token = randomString(16);
  writeCookie(jar, name, token, { secure });
  return token;
}
