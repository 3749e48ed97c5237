// The Content-Security-Policy, as directives rather than a string: every page
// gets pageCsp; a page whose form is answered with a redirect elsewhere (the
// consent page, the identity provider buttons) gets its own copy with those
// targets added to form-action, built for that response.

export type CspDirectives = Readonly<Record<string, readonly string[]>>;

/** Nothing but Gatehouse's own scripts, styles, images, fetches and forms; never framed. */
export const pageCsp = {
  "default-src": ["'none'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "img-src": ["'self'", "data:"],
  "connect-src": ["'self'"],
  "form-action": ["'self'"],
  "frame-ancestors": ["'none'"],
  "base-uri": ["'none'"],
} as const satisfies CspDirectives;

/** The header value: directives in order, `name source source`, joined by "; ". */
export function cspHeader(directives: CspDirectives): string {
  return Object.entries(directives)
    .map(([name, sources]) => [name, ...sources].join(" "))
    .join("; ");
}

/**
 * pageCsp with `sources` added to form-action: browsers check where a form's
 * POST is redirected against it (CSP Level 3 `form-action`), so a form
 * answered with a redirect to a client or a provider needs its target there.
 */
export function cspAllowingForms(sources: readonly string[]): string {
  return cspHeader({ ...pageCsp, "form-action": [...pageCsp["form-action"], ...sources] });
}
