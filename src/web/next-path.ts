const base = "http://gatehouse.invalid";

/**
 * Where to go after signing in (or accepting an invitation, or setup): a
 * path on this server, or `fallback` when `next` is missing or would leave
 * it. The decision is made on the path a browser will follow: `new URL()`
 * resolves dot segments (`/..//evil`, `/%2e%2e//evil`), which can turn a
 * path into a protocol-relative URL, so the resolved path is checked again.
 */
export function safeNextPath(next: string | null | undefined, fallback = "/"): string {
  if (!next || !isSameOriginPath(next)) return fallback;
  const url = new URL(next, base);
  const path = url.pathname + url.search;
  return isSameOriginPath(path) ? path : fallback;
}

/** A path that stays on this origin as written: no `//` or `/\` (another host), no scheme, no control characters. */
function isSameOriginPath(path: string): boolean {
  if (!path.startsWith("/") || path.startsWith("//") || /[\u0000-\u001f\u007f\\]/.test(path)) return false;
  try {
    return new URL(path, base).origin === base;
  } catch {
    return false;
  }
}

/** The sign-in page, sending the person back to `path` (made safe) afterwards. */
export function signInUrl(path: string): string {
  const next = safeNextPath(path);
  return next === "/" ? "/sign-in" : `/sign-in?next=${encodeURIComponent(next)}`;
}
