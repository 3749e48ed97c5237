/**
 * Where to go after signing in: a path on this server, or "/" when `next`
 * is missing or would leave it (`//evil`, `/\evil`, `https://evil`, ...).
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (/[\u0000-\u001f\\]/.test(next)) return "/";
  const base = "http://gatehouse.invalid";
  try {
    const url = new URL(next, base);
    if (url.origin !== base) return "/";
    return url.pathname + url.search;
  } catch {
    return "/";
  }
}
