// Requests to a REST API (and its OpenAPI document) follow redirects only
// within the origin they were sent to: the configured headers carry the
// API's credentials, and a redirect elsewhere (a compromised or misconfigured
// API, an open redirect) must not take them along. fetch's own "follow"
// would drop Authorization on a cross-origin hop but keep every other header
// (X-Api-Key), so redirects are followed here, one by one (Fetch §4.4
// "HTTP-redirect fetch" for the method rules).

export const maxRedirects = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/** A redirect that was not followed: to another origin, or one too many. */
export class RedirectRefusedError extends Error {}

export async function fetchSameOrigin(
  url: URL,
  init: RequestInit & { method: string; headers: Headers },
): Promise<Response> {
  let current = url;
  let { method, body } = init;
  const headers = new Headers(init.headers);
  for (let hops = 0; ; hops++) {
    const res = await fetch(current, { ...init, method, headers, body: body ?? null, redirect: "manual" });
    const location = res.headers.get("location");
    if (!redirectStatuses.has(res.status) || location === null) return res;
    await res.body?.cancel();
    const next = new URL(location, current);
    if (next.origin !== url.origin)
      throw new RedirectRefusedError(`a redirect to another origin (${next.origin}), which Gatehouse does not follow`);
    if (hops === maxRedirects) throw new RedirectRefusedError(`more than ${maxRedirects} redirects in a row`);
    // A 303, and a 301 or 302 after a POST, become a GET without a body.
    if (res.status === 303 ? method !== "HEAD" : (res.status === 301 || res.status === 302) && method === "POST") {
      method = "GET";
      body = null;
      headers.delete("content-type");
    }
    current = next;
  }
}
