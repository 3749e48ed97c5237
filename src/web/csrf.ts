import { constantTimeEqual } from "@oslojs/crypto/subtle";
import { cookieName, readCookie, type CookieJar } from "./cookies.ts";

/**
 * Why a form post must be refused, or null when it may proceed. Two layers:
 * the browser must say the request came from our own origin (Origin, or
 * Sec-Fetch-Site where Origin is absent or null), and the form must carry the token
 * from this browser's CSRF cookie.
 */
export function csrfProblem(input: {
  headers: Headers;
  jar: CookieJar;
  formToken: string;
  publicOrigin: string;
  secure: boolean;
}): string | null {
  const origin = input.headers.get("origin");
  const site = input.headers.get("sec-fetch-site");
  // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` even on
  // our own form posts (Fetch: "append a request `Origin` header"), so a null origin defers to Fetch
  // Metadata, which every current browser sends.
  const opaque = origin === null || origin === "null";
  if (!opaque && origin !== input.publicOrigin) {
    return `This form was sent from ${origin}, but Gatehouse runs at ${input.publicOrigin}. Open Gatehouse at ${input.publicOrigin} and try again.`;
  }
  if (opaque && site !== null && site !== "same-origin" && site !== "none") {
    return "This form was sent from another site. Open Gatehouse directly and try again.";
  }
  if (origin === "null" && site === null) {
    return "This browser did not say where the form came from. Open Gatehouse directly and try again.";
  }
  const cookie = readCookie(input.jar, cookieName("gatehouse_csrf", input.secure));
  const encoder = new TextEncoder();
  if (
    cookie === null ||
    input.formToken.length !== cookie.length ||
    !constantTimeEqual(encoder.encode(cookie), encoder.encode(input.formToken))
  ) {
    return "The form expired or came from elsewhere. Go back, reload the page and try again.";
  }
  return null;
}
