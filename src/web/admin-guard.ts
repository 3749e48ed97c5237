import type { SignedIn } from "../accounts/sessions.ts";
import { MessagePage } from "../../views/message.tsx";

// Who may use a page or form post once signed in (the `signedIn` and
// `admin` route options of src/http/page-guards.ts): admins only (admin
// pages), or no session opened with an API key (admin pages and the clients
// page).

/** The 403 page this session gets for a page or action, or null when it may use it. */
export type Refusal = (current: SignedIn) => string | null;

/**
 * Why a session opened with an API key may not use `pages` (a 403 page), or
 * null for any other session. A pasted key acts with at most its own access,
 * which covers neither an admin's work nor setting up what outlives the key.
 */
export function keySessionRefusal(current: SignedIn, pages: { title: string; message: string }): string | null {
  if (current.apiKey === null) return null;
  return MessagePage({ ...pages, link: { href: "/keys", label: "Back to API keys" } });
}

/** Why this session may not use an admin page or action (a 403 page), or null when it may. */
export function adminRefusal(current: SignedIn, what: string): string | null {
  if (!current.user.isAdmin) {
    return MessagePage({
      title: "Admins only",
      message: `Only an admin can manage ${what}.`,
      link: { href: "/", label: "Home" },
    });
  }
  // A leaked CI key must not become the account.
  return keySessionRefusal(current, {
    title: "Sign in again for admin pages",
    message:
      "Admin pages need a sign-in with a password or an identity provider, not an API key: sign out and sign in again (an admin without a password gets one with gatehouse user password).",
  });
}
