// Redirect URI policy, pure: what a client may register, and whether a
// request's redirect_uri matches what it registered.

const loopbackHosts = new Set(["127.0.0.1", "[::1]", "localhost"]);
// Schemes that must never receive a code, whatever a client claims.
const forbiddenSchemes = new Set([
  "javascript:",
  "data:",
  "vbscript:",
  "file:",
  "blob:",
  "about:",
  "ftp:",
  "ws:",
  "wss:",
]);

export function isLoopbackRedirect(url: URL): boolean {
  return url.protocol === "http:" && loopbackHosts.has(url.hostname);
}

/**
 * Why `uri` cannot be registered, or null when it can: https, loopback http
 * (RFC 8252 §7.3), or a native app's private-use scheme such as
 * `cursor://…` or `vscode://…` (RFC 8252 §7.1). Never a fragment (RFC 6749 §3.1.2).
 */
export function redirectUriProblem(uri: string): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `${uri} is not an absolute URI`;
  }
  if (url.hash !== "" || uri.includes("#")) return `${uri} has a fragment`;
  if (url.username || url.password) return `${uri} carries credentials`;
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:") return isLoopbackRedirect(url) ? null : `${uri} is http but not loopback; use https`;
  if (forbiddenSchemes.has(url.protocol)) return `${uri} uses the forbidden scheme ${url.protocol}`;
  // Private-use schemes: a reverse domain name or an app name, RFC 3986 scheme syntax.
  if (/^[a-z][a-z0-9+.-]*:$/.test(url.protocol)) return null;
  return `${uri} has an unsupported scheme`;
}

/**
 * Exact string match against the registered URIs, except that a loopback
 * redirect may use any port (RFC 8252 §7.3): native apps bind whichever
 * port is free.
 */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  let want: URL;
  try {
    want = new URL(requested);
  } catch {
    return false;
  }
  if (!isLoopbackRedirect(want) || requested.includes("#")) return false;
  return registered.some((r) => {
    let have: URL;
    try {
      have = new URL(r);
    } catch {
      return false;
    }
    return (
      isLoopbackRedirect(have) &&
      have.hostname === want.hostname &&
      have.pathname === want.pathname &&
      have.search === want.search
    );
  });
}
