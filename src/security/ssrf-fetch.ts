import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { classifyAddress } from "./ip-ranges.ts";

// Fetching URLs that strangers chose (Client ID Metadata Documents) without
// letting them aim Gatehouse at the inside of its own network.
//
// - https only; http solely to 127.0.0.1 / localhost / [::1] when the caller
//   sets `allowLoopbackHttp` (the server's own public URL is loopback http:
//   local development and tests).
// - The host is resolved first (every address), and the request is refused
//   unless every address is public (see ip-ranges.ts).
// - The connection is pinned to the address that was checked: the request
//   goes to the IP itself, with the original Host header and the original
//   name as TLS SNI and certificate name (Bun's `tls.serverName`). A DNS
//   answer that changes between the check and the connection (rebinding)
//   therefore cannot redirect it.
// - No redirects (a 3xx is an error), one time limit over DNS, connection
//   and body, and a size limit enforced while the body streams in.
// - Environment proxies are bypassed (`proxy: false`): a proxy would make its
//   own DNS decisions, outside these checks.

export type SafeFetchReason =
  | "invalid_url"
  | "scheme"
  | "credentials"
  | "forbidden_address"
  | "dns"
  | "redirect"
  | "timeout"
  | "too_large"
  | "network";

export class SafeFetchError extends Error {
  constructor(
    readonly reason: SafeFetchReason,
    message: string,
  ) {
    super(message);
    this.name = "SafeFetchError";
  }
}

export interface SafeFetchOptions {
  /** Allow http://127.0.0.1, http://localhost and http://[::1] (and only those over http). */
  allowLoopbackHttp?: boolean;
  /** For DNS, connection and the whole body together. */
  timeoutMs?: number;
  maxBytes?: number;
  headers?: Record<string, string>;
  /** Resolves a host name to all its addresses; defaults to the system resolver. */
  resolve?: (hostname: string) => Promise<string[]>;
}

export interface SafeResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

export const defaultTimeoutMs = 5000;
export const defaultMaxBytes = 64 * 1024;
const loopbackHosts = new Set(["127.0.0.1", "localhost", "[::1]"]);

async function systemResolve(hostname: string): Promise<string[]> {
  return (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
}

/** Rejects when `signal` aborts, so a hung DNS lookup counts against the time limit. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function checkUrl(raw: string, allowLoopbackHttp: boolean): { url: URL; loopbackHttp: boolean } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SafeFetchError("invalid_url", "not an absolute URL");
  }
  if (url.username || url.password) throw new SafeFetchError("credentials", "URL carries credentials");
  if (url.protocol === "https:") return { url, loopbackHttp: false };
  if (url.protocol === "http:" && allowLoopbackHttp && loopbackHosts.has(url.hostname))
    return { url, loopbackHttp: true };
  throw new SafeFetchError("scheme", `${url.protocol} URLs are not fetched; use https`);
}

/** The address to connect to: every address of the host must be allowed; the first IPv4 one wins. */
async function checkedAddress(
  url: URL,
  loopbackHttp: boolean,
  resolve: (h: string) => Promise<string[]>,
  signal: AbortSignal,
): Promise<string> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await raceAbort(resolve(host), signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new SafeFetchError("dns", `${host} did not resolve`);
    }
    if (addresses.length === 0) throw new SafeFetchError("dns", `${host} did not resolve`);
  }
  const wanted = loopbackHttp ? "loopback" : "public";
  for (const address of addresses) {
    const cls = classifyAddress(address);
    if (cls !== wanted)
      throw new SafeFetchError("forbidden_address", `${host} resolves to a ${cls} address (${address})`);
  }
  return addresses.find((a) => isIP(a) === 4) ?? addresses[0]!;
}

/**
 * GETs `url` from `address` exactly: the URL's host is replaced by the IP,
 * and the name goes in the Host header and TLS SNI, so the certificate is
 * still checked against the name. Exported for its own test.
 */
export async function fetchPinned(
  url: URL,
  address: string,
  init: { signal: AbortSignal; headers?: Record<string, string>; ca?: string },
): Promise<Response> {
  const target = new URL(url);
  target.hostname = isIP(address) === 6 ? `[${address}]` : address;
  const name = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const tls =
    url.protocol === "https:"
      ? { ...(isIP(name) ? {} : { serverName: name }), ...(init.ca ? { ca: init.ca } : {}) }
      : undefined;
  return fetch(target, {
    method: "GET",
    headers: { ...init.headers, host: url.host },
    redirect: "manual",
    signal: init.signal,
    proxy: false,
    ...(tls ? { tls } : {}),
  });
}

/** The body, refused (SafeFetchError "too_large") once it passes maxBytes, by Content-Length or while it streams in. */
export async function readLimited(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? "NaN");
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new SafeFetchError("too_large", `the response is larger than ${maxBytes} bytes`);
  }
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new SafeFetchError("too_large", `the response is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/** GETs an untrusted URL under the rules above; any refusal is a SafeFetchError with a reason. */
export async function safeFetch(raw: string, opts: SafeFetchOptions = {}): Promise<SafeResponse> {
  const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
  const { url, loopbackHttp } = checkUrl(raw, opts.allowLoopbackHttp ?? false);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const address = await checkedAddress(url, loopbackHttp, opts.resolve ?? systemResolve, signal);
    const res = await fetchPinned(url, address, { signal, headers: opts.headers });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      throw new SafeFetchError("redirect", `answered ${res.status}; redirects are not followed`);
    }
    return { status: res.status, headers: res.headers, body: await readLimited(res, opts.maxBytes ?? defaultMaxBytes) };
  } catch (error) {
    if (error instanceof SafeFetchError) throw error;
    if (signal.aborted) throw new SafeFetchError("timeout", `no complete answer within ${timeoutMs} ms`);
    throw new SafeFetchError("network", error instanceof Error ? error.message : String(error));
  }
}
