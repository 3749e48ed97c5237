import { encodeBase64urlNoPadding, decodeBase64urlIgnorePadding } from "@oslojs/encoding";
import { clearCookie, cookieName, readCookie, writeCookie, type CookieJar } from "./cookies.ts";

// Post/Redirect/Get: an action answers with a redirect to the page it came
// from, and what it did rides along in a cookie that page reads once and
// clears ("Revoked “deploy”."). It lives a minute, so a redirect that is never
// followed leaves nothing behind. It is text only, escaped where it is drawn,
// and under https the __Host- prefix keeps other hosts from setting it.

const lifetimeSeconds = 60;
/** Longer messages are cut: a cookie has about 4 KB, and a message is a sentence. */
const maxChars = 300;

const flashCookie = (secure: boolean) => cookieName("gatehouse_flash", secure);

/** Keeps `message` for the next page this browser opens. */
export function setFlash(jar: CookieJar, secure: boolean, message: string): void {
  const value = encodeBase64urlNoPadding(new TextEncoder().encode(message.slice(0, maxChars)));
  writeCookie(jar, flashCookie(secure), value, { secure, maxAgeSeconds: lifetimeSeconds });
}

/** The message an action left for this page, once: reading it clears it. */
export function takeFlash(jar: CookieJar, secure: boolean): string | null {
  const name = flashCookie(secure);
  const value = readCookie(jar, name);
  if (value === null) return null;
  clearCookie(jar, name, secure);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(decodeBase64urlIgnorePadding(value)).slice(0, maxChars);
  } catch {
    return null;
  }
}
