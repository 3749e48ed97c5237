// Preloaded into the conformance suite's process (`bun --preload`): its MCP
// client has no option for an Authorization header, and Gatehouse answers
// every unauthenticated /mcp request 401. This gives the suite's HTTP calls
// (global fetch, undici's request for the DNS-rebinding check, and node:http's
// request for 0.2's header-validation checks) the API
// key in CONFORMANCE_BEARER, for requests to CONFORMANCE_ORIGIN only, the
// way any MCP client configured with a key sends it. Gatehouse itself is
// unchanged: no bypass, the same bearer check as for every client.
import { createRequire } from "node:module";

const bearer = process.env.CONFORMANCE_BEARER;
const origin = process.env.CONFORMANCE_ORIGIN;
if (!bearer || !origin)
  throw new Error("bearer-preload: set CONFORMANCE_BEARER (an API key) and CONFORMANCE_ORIGIN (http://host:port)");

const targets = (url: string | URL) => new URL(url).origin === origin;

const fetchWithoutKey = globalThis.fetch;
globalThis.fetch = Object.assign(
  (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : input;
    if (!targets(url)) return fetchWithoutKey(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${bearer}`);
    return fetchWithoutKey(input, { ...init, headers });
  },
  { preconnect: fetchWithoutKey.preconnect },
);

// Bun's undici is a built-in whose exports the suite's `import { request }` reads live.
const undici = createRequire(import.meta.url)("undici") as {
  request: (url: string | URL, options?: { headers?: Record<string, string> }) => unknown;
};
const requestWithoutKey = undici.request;
undici.request = (url, options = {}) => {
  if (!targets(url)) return requestWithoutKey(url, options);
  const hasKey = Object.keys(options.headers ?? {}).some((name) => name.toLowerCase() === "authorization");
  return requestWithoutKey(
    url,
    hasKey ? options : { ...options, headers: { ...options.headers, authorization: `Bearer ${bearer}` } },
  );
};

// node:http's request(options, callback), as 0.2's http-header-validation scenario calls it.
const http = createRequire(import.meta.url)("node:http") as {
  request: (options: HttpOptions, callback?: unknown) => unknown;
};
type HttpOptions = {
  protocol?: string;
  hostname?: string;
  port?: string | number;
  headers?: Record<string, string | number>;
};
const httpRequestWithoutKey = http.request;
http.request = (options, callback) => {
  const url = `${options.protocol ?? "http:"}//${options.hostname}${options.port ? `:${options.port}` : ""}`;
  if (typeof options !== "object" || options instanceof URL || !targets(url))
    return httpRequestWithoutKey(options, callback);
  const hasKey = Object.keys(options.headers ?? {}).some((name) => name.toLowerCase() === "authorization");
  return httpRequestWithoutKey(
    hasKey ? options : { ...options, headers: { ...options.headers, authorization: `Bearer ${bearer}` } },
    callback,
  );
};
