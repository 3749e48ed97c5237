import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { fetchPinned, safeFetch, SafeFetchError, type SafeFetchReason } from "../../src/security/ssrf-fetch.ts";

// A server on loopback stands in for the internet; `hits` records every
// request it sees, so refusals can be shown to send nothing.

const hits: { path: string; host: string | null }[] = [];
let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const url = new URL(req.url);
      hits.push({ path: url.pathname, host: req.headers.get("host") });
      switch (url.pathname) {
        case "/doc":
          return Response.json({ ok: true });
        case "/missing":
          return new Response("no", { status: 404 });
        case "/redirect":
          return new Response(null, { status: 302, headers: { location: "/doc-after-redirect" } });
        case "/slow-headers":
          return new Promise((resolve) => setTimeout(() => resolve(new Response("late")), 3000));
        case "/slow-body":
          return new Response(
            new ReadableStream({
              async pull(c) {
                c.enqueue(new TextEncoder().encode("x"));
                await Bun.sleep(3000);
              },
            }),
          );
        case "/big-declared":
          return new Response("y".repeat(9000));
        case "/endless":
          return new Response(
            new ReadableStream({
              pull(c) {
                c.enqueue(new Uint8Array(1024));
              },
            }),
          );
        case "/exact":
          return new Response("z".repeat(8192));
        default:
          return new Response("?", { status: 404 });
      }
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop(true));

async function refusal(promise: Promise<unknown>): Promise<SafeFetchReason> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SafeFetchError) return error.reason;
    throw error;
  }
  throw new Error("expected a refusal");
}

function hitsDuring<T>(fn: () => Promise<T>): Promise<number> {
  const before = hits.length;
  return fn().then(
    () => hits.length - before,
    () => hits.length - before,
  );
}

const loopback = { allowLoopbackHttp: true };

describe("refused before any connection", () => {
  test("http to loopback without allowLoopbackHttp is `scheme`, and nothing is sent", async () => {
    expect(await refusal(safeFetch(`${base}/doc`))).toBe("scheme");
    expect(await hitsDuring(() => safeFetch(`${base}/doc`))).toBe(0);
  });

  test("http to a non-loopback host is `scheme` even with allowLoopbackHttp", async () => {
    expect(await refusal(safeFetch("http://example.com/doc", loopback))).toBe("scheme");
  });

  test.each(["ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/"])("%s is `scheme`", async (url) => {
    expect(await refusal(safeFetch(url, loopback))).toBe("scheme");
  });

  test("a URL with credentials is `credentials`", async () => {
    expect(await refusal(safeFetch("https://user:pw@example.com/x"))).toBe("credentials");
  });

  test("a relative URL is `invalid_url`", async () => {
    expect(await refusal(safeFetch("/doc"))).toBe("invalid_url");
  });

  test("https to a loopback address is `forbidden_address`, and nothing is sent", async () => {
    const url = `https://127.0.0.1:${server.port}/doc`;
    expect(await refusal(safeFetch(url, loopback))).toBe("forbidden_address");
    expect(await hitsDuring(() => safeFetch(url, loopback))).toBe(0);
  });

  test.each([
    "https://[::1]/x",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/x",
    "https://192.168.1.1/x",
    "https://100.64.0.1/x",
    "https://0.0.0.0/x",
    "https://[fd00::1]/x",
    "https://[fe80::1]/x",
    "https://[::ffff:10.0.0.1]/x",
    "https://224.0.0.1/x",
  ])("%s is `forbidden_address`", async (url) => {
    expect(await refusal(safeFetch(url, loopback))).toBe("forbidden_address");
  });

  test("https://localhost (resolved by the system) is `forbidden_address`", async () => {
    expect(await refusal(safeFetch("https://localhost/x"))).toBe("forbidden_address");
  });

  test("a host name resolving to 10.x is `forbidden_address`", async () => {
    const asked: string[] = [];
    const resolve = async (host: string) => {
      asked.push(host);
      return ["10.1.2.3"];
    };
    expect(await refusal(safeFetch("https://internal.example/x", { resolve }))).toBe("forbidden_address");
    expect(asked).toEqual(["internal.example"]);
  });

  test("a host name with one public and one private address is `forbidden_address`", async () => {
    const resolve = async () => ["93.184.215.14", "192.168.0.10"];
    expect(await refusal(safeFetch("https://mixed.example/x", { resolve }))).toBe("forbidden_address");
  });

  test("a host name that does not resolve is `dns`", async () => {
    const resolve = async (): Promise<string[]> => {
      throw new Error("ENOTFOUND");
    };
    expect(await refusal(safeFetch("https://nowhere.example/x", { resolve }))).toBe("dns");
  });

  test("a DNS lookup that hangs is `timeout` within the time limit", async () => {
    const resolve = () => new Promise<string[]>(() => {});
    const start = performance.now();
    expect(await refusal(safeFetch("https://hang.example/x", { resolve, timeoutMs: 100 }))).toBe("timeout");
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe("loopback http (allowLoopbackHttp)", () => {
  test("fetches http://127.0.0.1 and returns status, headers and body", async () => {
    const res = await safeFetch(`${base}/doc`, loopback);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(JSON.parse(new TextDecoder().decode(res.body))).toEqual({ ok: true });
  });

  test("fetches http://localhost with the original Host header", async () => {
    const before = hits.length;
    const res = await safeFetch(`http://localhost:${server.port}/doc`, loopback);
    expect(res.status).toBe(200);
    expect(hits.slice(before)).toEqual([{ path: "/doc", host: `localhost:${server.port}` }]);
  });

  test("a 404 is returned as it is, for the caller to judge", async () => {
    expect((await safeFetch(`${base}/missing`, loopback)).status).toBe(404);
  });
});

describe("limits", () => {
  test("a 302 is `redirect`, and its Location is not requested", async () => {
    const before = hits.length;
    expect(await refusal(safeFetch(`${base}/redirect`, loopback))).toBe("redirect");
    expect(hits.slice(before).map((h) => h.path)).toEqual(["/redirect"]);
  });

  test("headers arriving after the time limit are `timeout`", async () => {
    const start = performance.now();
    expect(await refusal(safeFetch(`${base}/slow-headers`, { ...loopback, timeoutMs: 200 }))).toBe("timeout");
    expect(performance.now() - start).toBeLessThan(2000);
  });

  test("a body still streaming at the time limit is `timeout`", async () => {
    const start = performance.now();
    expect(await refusal(safeFetch(`${base}/slow-body`, { ...loopback, timeoutMs: 300 }))).toBe("timeout");
    expect(performance.now() - start).toBeLessThan(2000);
  });

  test("a Content-Length over the limit is `too_large`", async () => {
    expect(await refusal(safeFetch(`${base}/big-declared`, { ...loopback, maxBytes: 8192 }))).toBe("too_large");
  });

  test("an endless body is cut off at the limit while streaming (`too_large`)", async () => {
    const start = performance.now();
    expect(await refusal(safeFetch(`${base}/endless`, { ...loopback, maxBytes: 8192 }))).toBe("too_large");
    expect(performance.now() - start).toBeLessThan(2000);
  });

  test("a body of exactly the limit is accepted", async () => {
    expect((await safeFetch(`${base}/exact`, { ...loopback, maxBytes: 8192 })).body.byteLength).toBe(8192);
  });

  test("a refused connection is `network`", async () => {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    expect(await refusal(safeFetch(`http://127.0.0.1:${port}/x`, loopback))).toBe("network");
  });
});

describe("fetchPinned (the connection goes to the checked address)", () => {
  const fixtures = join(import.meta.dir, "..", "fixtures");
  let tlsServer: ReturnType<typeof Bun.serve>;
  let ca: string;
  const seen: { host: string | null; path: string }[] = [];

  beforeAll(async () => {
    ca = await Bun.file(join(fixtures, "doc-test.cert.pem")).text();
    const key = await Bun.file(join(fixtures, "doc-test.key.pem")).text();
    tlsServer = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      tls: { cert: ca, key },
      fetch(req) {
        seen.push({ host: req.headers.get("host"), path: new URL(req.url).pathname });
        return new Response("pinned");
      },
    });
  });
  afterAll(() => tlsServer.stop(true));

  test("reaches the IP with the name in Host and the certificate checked against the name", async () => {
    const url = new URL(`https://doc.test:${tlsServer.port}/client.json?v=1`);
    const res = await fetchPinned(url, "127.0.0.1", { signal: AbortSignal.timeout(2000), ca });
    expect(await res.text()).toBe("pinned");
    expect(seen.at(-1)).toEqual({ host: `doc.test:${tlsServer.port}`, path: "/client.json" });
  });

  test("fails when the certificate does not match the URL's name", async () => {
    const url = new URL(`https://other.test:${tlsServer.port}/client.json`);
    await expect(fetchPinned(url, "127.0.0.1", { signal: AbortSignal.timeout(2000), ca })).rejects.toThrow();
  });
});
