import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { createLogger } from "../../src/log.ts";
import { cacheTtlSeconds, clientIdUrlProblem } from "../../src/oauth/cimd.ts";
import { resolveClient, type ClientDeps } from "../../src/oauth/clients.ts";
import { browserOf } from "./authorize-fixture.ts";
import {
  challenge,
  exchangeCode,
  makeCode,
  makeUser,
  postForm,
  redirectUri,
  refreshRequest,
  type TokenBody,
} from "./token-fixture.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { nowSeconds } from "../support/clock.ts";

// Documents are served by a Bun.serve on 127.0.0.1; Gatehouse's own public
// URL is loopback http in tests, which is what allows http document URLs.

type Handler = (req: Request) => Response | Promise<Response>;
const routes = new Map<string, Handler>();
const hits: string[] = [];
let docs: ReturnType<typeof Bun.serve>;
let app: TestApp;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  app = await createTestApp({ listen: false });
  docs = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      hits.push(path);
      return routes.get(path)?.(req) ?? new Response("not found", { status: 404 });
    },
  });
});
afterAll(async () => {
  docs.stop(true);
  await app.close();
});
afterEach(() => {
  setSystemTime();
});

const deps = (extra: Partial<ClientDeps> = {}): ClientDeps => ({
  db: app.db,
  now: nowSeconds,
  publicUrl: app.url,
  log: createLogger((line) => logs.push(JSON.parse(line))),
  ...extra,
});
let counter = 0;
/** A fresh document URL for each test, so caches never cross tests. */
const docUrl = () => `http://127.0.0.1:${docs.port}/clients/${++counter}.json`;
const pathOf = (url: string) => new URL(url).pathname;
const hitsOf = (url: string) => hits.filter((h) => h === pathOf(url)).length;
const rowOf = async (id: string) => {
  const { oauthClients } = app.db.tables;
  return first(await app.db.select().from(oauthClients).where(eq(oauthClients.id, id)).limit(1));
};
const lastReason = () => logs.at(-1)?.reason;

function serveDoc(url: string, doc: unknown, headers: Record<string, string> = {}) {
  routes.set(pathOf(url), () => Response.json(doc, { headers }));
}
const validDoc = (url: string, extra: Record<string, unknown> = {}) => ({
  client_id: url,
  client_name: "Example MCP Client",
  redirect_uris: ["http://127.0.0.1:33418/callback", "https://client.example/cb"],
  token_endpoint_auth_method: "none",
  ...extra,
});

describe("a valid document", () => {
  test("resolves to a cimd client with its name and redirect URIs", async () => {
    const url = docUrl();
    serveDoc(url, validDoc(url));
    const client = await resolveClient(deps(), url);
    expect(client).toMatchObject({
      id: url,
      kind: "cimd",
      name: "Example MCP Client",
      tokenEndpointAuthMethod: "none",
      secretHash: null,
    });
    expect(client!.redirectUris).toEqual(["http://127.0.0.1:33418/callback", "https://client.example/cb"]);
  });

  test("is stored in oauth_clients with kind cimd", async () => {
    const url = docUrl();
    serveDoc(url, validDoc(url));
    await resolveClient(deps(), url);
    expect(await rowOf(url)).toMatchObject({ kind: "cimd", name: "Example MCP Client" });
  });

  test("without client_name is named after the URL's host", async () => {
    const url = docUrl();
    serveDoc(url, validDoc(url, { client_name: undefined }));
    expect((await resolveClient(deps(), url))!.name).toBe(`127.0.0.1:${docs.port}`);
  });

  test("without token_endpoint_auth_method is a public client (none)", async () => {
    const url = docUrl();
    serveDoc(url, validDoc(url, { token_endpoint_auth_method: undefined }));
    expect((await resolveClient(deps(), url))!.tokenEndpointAuthMethod).toBe("none");
  });

  test("served as application/something+json is accepted", async () => {
    const url = docUrl();
    routes.set(
      pathOf(url),
      () =>
        new Response(JSON.stringify(validDoc(url)), { headers: { "content-type": "application/oauth-client+json" } }),
    );
    expect(await resolveClient(deps(), url)).not.toBeNull();
  });
});

describe("refused documents resolve to null (unknown client) and store nothing", () => {
  const cases: [string, (url: string) => Handler, string][] = [
    ["client_id differs from the URL", (url) => () => Response.json(validDoc(`${url}?other`)), "client_id_mismatch"],
    ["client_id missing", (url) => () => Response.json(validDoc(url, { client_id: undefined })), "client_id_mismatch"],
    [
      "redirect_uris missing",
      (url) => () => Response.json(validDoc(url, { redirect_uris: undefined })),
      "redirect_uris",
    ],
    ["redirect_uris empty", (url) => () => Response.json(validDoc(url, { redirect_uris: [] })), "redirect_uris"],
    [
      "redirect_uris not strings",
      (url) => () => Response.json(validDoc(url, { redirect_uris: [42] })),
      "redirect_uris",
    ],
    [
      "a javascript: redirect URI",
      (url) => () => Response.json(validDoc(url, { redirect_uris: ["javascript:alert(1)"] })),
      "redirect_uris",
    ],
    [
      "a redirect URI with a fragment",
      (url) => () => Response.json(validDoc(url, { redirect_uris: ["https://a.example/cb#x"] })),
      "redirect_uris",
    ],
    [
      "private_key_jwt",
      (url) => () => Response.json(validDoc(url, { token_endpoint_auth_method: "private_key_jwt" })),
      "auth_method",
    ],
    [
      "client_secret_basic",
      (url) => () => Response.json(validDoc(url, { token_endpoint_auth_method: "client_secret_basic" })),
      "auth_method",
    ],
    ["a client_secret", (url) => () => Response.json(validDoc(url, { client_secret: "shh" })), "client_secret"],
    ["client_name not a string", (url) => () => Response.json(validDoc(url, { client_name: ["x"] })), "client_name"],
    [
      "client_name over 200 characters",
      (url) => () => Response.json(validDoc(url, { client_name: "n".repeat(201) })),
      "client_name",
    ],
    [
      "an HTML page",
      () => () => new Response("<html>hi</html>", { headers: { "content-type": "text/html" } }),
      "content_type",
    ],
    [
      "JSON content type but not JSON",
      () => () => new Response("{not json", { headers: { "content-type": "application/json" } }),
      "not_json",
    ],
    ["a JSON array", () => () => Response.json([1, 2]), "not_json"],
    ["a 404", () => () => new Response("gone", { status: 404 }), "status"],
    ["a 503", () => () => new Response("down", { status: 503 }), "unavailable"],
    [
      "a document over 16 KiB",
      (url) => () => Response.json(validDoc(url, { padding: "p".repeat(17 * 1024) })),
      "fetch_too_large",
    ],
    [
      "a redirect",
      () => () => new Response(null, { status: 302, headers: { location: "/elsewhere.json" } }),
      "fetch_redirect",
    ],
  ];
  test.each(cases)("%s", async (_what, handler, reason) => {
    const url = docUrl();
    routes.set(pathOf(url), handler(url));
    expect(await resolveClient(deps(), url)).toBeNull();
    expect(lastReason()).toBe(reason);
    expect(await rowOf(url)).toBeNull();
  });

  test("a redirect's Location is never requested", async () => {
    const url = docUrl();
    routes.set(pathOf(url), () => new Response(null, { status: 302, headers: { location: "/followed.json" } }));
    await resolveClient(deps(), url);
    expect(hits).not.toContain("/followed.json");
  });

  test("a slow server is cut off at the time limit", async () => {
    const url = docUrl();
    routes.set(
      pathOf(url),
      () => new Promise((resolve) => setTimeout(() => resolve(Response.json(validDoc(url))), 2000)),
    );
    const start = performance.now();
    expect(await resolveClient(deps({ cimdTimeoutMs: 200 }), url)).toBeNull();
    expect(performance.now() - start).toBeLessThan(1500);
    expect(lastReason()).toBe("fetch_timeout");
  });
});

describe("client_id URLs refused before any request", () => {
  const port = () => docs.port;
  const cases: [string, () => string, string][] = [
    ["https to loopback (127.0.0.1:1)", () => "https://127.0.0.1:1/client.json", "fetch_forbidden_address"],
    ["https to a private address", () => "https://10.0.0.1/client.json", "fetch_forbidden_address"],
    ["https to link-local metadata", () => "https://169.254.169.254/latest", "fetch_forbidden_address"],
    ["https://localhost", () => "https://localhost/client.json", "fetch_forbidden_address"],
    ["no path", () => `http://127.0.0.1:${port()}/`, "client_id_url"],
    ["a dot segment", () => `http://127.0.0.1:${port()}/a/../client.json`, "client_id_url"],
    ["an encoded dot segment", () => `http://127.0.0.1:${port()}/a/%2E%2E/client.json`, "client_id_url"],
    ["a fragment", () => `http://127.0.0.1:${port()}/client.json#x`, "client_id_url"],
    ["credentials", () => `http://u:p@127.0.0.1:${port()}/client.json`, "client_id_url"],
    ["http to a non-loopback host", () => "http://client.example/client.json", "client_id_url"],
  ];
  test.each(cases)("%s", async (_what, url, reason) => {
    const before = hits.length;
    expect(await resolveClient(deps(), url())).toBeNull();
    expect(lastReason()).toBe(reason);
    expect(hits.length).toBe(before);
  });

  test("loopback http documents are refused when Gatehouse's public URL is https", async () => {
    const url = docUrl();
    serveDoc(url, validDoc(url));
    expect(await resolveClient(deps({ publicUrl: "https://gatehouse.example" }), url)).toBeNull();
    expect(lastReason()).toBe("client_id_url");
    expect(hitsOf(url)).toBe(0);
  });
});

describe("caching", () => {
  const start = new Date("2031-03-01T00:00:00Z");
  const at = (seconds: number) => setSystemTime(new Date(start.getTime() + seconds * 1000));

  test("a cached document is served from the database without a request", async () => {
    const url = docUrl();
    serveDoc(url, validDoc(url));
    await resolveClient(deps(), url);
    await resolveClient(deps(), url);
    expect(hitsOf(url)).toBe(1);
  });

  test("max-age sets metadata_expires_at", async () => {
    at(0);
    const url = docUrl();
    serveDoc(url, validDoc(url), { "cache-control": "public, max-age=600" });
    await resolveClient(deps(), url);
    expect((await rowOf(url))!.metadataExpiresAt).toBe(start.getTime() / 1000 + 600);
  });

  test("the document is fetched again once max-age has passed", async () => {
    at(0);
    const url = docUrl();
    serveDoc(url, validDoc(url), { "cache-control": "max-age=600" });
    await resolveClient(deps(), url);
    at(599);
    await resolveClient(deps(), url);
    expect(hitsOf(url)).toBe(1);
    at(600);
    await resolveClient(deps(), url);
    expect(hitsOf(url)).toBe(2);
  });

  test("a refetch picks up changed redirect URIs", async () => {
    at(0);
    const url = docUrl();
    serveDoc(url, validDoc(url), { "cache-control": "max-age=300" });
    await resolveClient(deps(), url);
    serveDoc(url, validDoc(url, { redirect_uris: ["https://new.example/cb"] }));
    at(301);
    expect((await resolveClient(deps(), url))!.redirectUris).toEqual(["https://new.example/cb"]);
  });

  test("a refetch keeps created_at and last_used_at", async () => {
    at(0);
    const url = docUrl();
    serveDoc(url, validDoc(url), { "cache-control": "max-age=300" });
    await resolveClient(deps(), url);
    const { oauthClients } = app.db.tables;
    await app.db.update(oauthClients).set({ lastUsedAt: 123 }).where(eq(oauthClients.id, url));
    at(301);
    await resolveClient(deps(), url);
    expect(await rowOf(url)).toMatchObject({ createdAt: start.getTime() / 1000, lastUsedAt: 123 });
  });

  test("no-store still caches for the 5-minute minimum", async () => {
    at(0);
    const url = docUrl();
    serveDoc(url, validDoc(url), { "cache-control": "no-store" });
    await resolveClient(deps(), url);
    expect((await rowOf(url))!.metadataExpiresAt).toBe(start.getTime() / 1000 + 300);
  });

  test("a failed refetch (503) serves the stale copy within an hour past expiry", async () => {
    at(0);
    const url = docUrl();
    serveDoc(url, validDoc(url), { "cache-control": "max-age=300" });
    await resolveClient(deps(), url);
    routes.set(pathOf(url), () => new Response("down", { status: 503 }));
    at(300 + 3599);
    expect((await resolveClient(deps(), url))?.id).toBe(url);
    expect(logs.at(-1)).toMatchObject({ reason: "unavailable", served_stale: true });
  });

  test("a failed refetch more than an hour past expiry is an unknown client", async () => {
    at(0);
    const url = docUrl();
    serveDoc(url, validDoc(url), { "cache-control": "max-age=300" });
    await resolveClient(deps(), url);
    routes.set(pathOf(url), () => new Response("down", { status: 503 }));
    at(300 + 3600);
    expect(await resolveClient(deps(), url)).toBeNull();
  });

  test("a refetch that finds an invalid document is an unknown client at once", async () => {
    at(0);
    const url = docUrl();
    serveDoc(url, validDoc(url), { "cache-control": "max-age=300" });
    await resolveClient(deps(), url);
    serveDoc(url, validDoc("https://someone-else.example/client.json"));
    at(301);
    expect(await resolveClient(deps(), url)).toBeNull();
  });
});

describe("the last good copy: token and revocation endpoints keep a known client for 7 days", () => {
  const start = new Date("2032-06-01T00:00:00Z");
  const at = (seconds: number) => setSystemTime(new Date(start.getTime() + seconds * 1000));
  const day = 86400;
  const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;
  const grantOf = async (clientId: string) => {
    const { oauthGrants } = app.db.tables;
    return first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, clientId)).limit(1))!;
  };

  /** A document client (5-minute cache) with an approved grant, its code not yet exchanged. */
  async function approvedDocClient() {
    at(0);
    const url = docUrl();
    serveDoc(url, validDoc(url, { redirect_uris: [redirectUri, "http://127.0.0.1:33418/callback"] }), {
      "cache-control": "max-age=300",
    });
    await resolveClient(deps(), url);
    const user = await makeUser(app);
    const { code } = await makeCode(app, { userId: user.id, clientId: url });
    return { url, user, code };
  }

  /** A document client that exchanged its code: known. */
  async function connectedDocClient() {
    const approved = await approvedDocClient();
    const tokens = await exchangeCode(app, approved.url, approved.code);
    return { ...approved, tokens };
  }

  const failures: [string, (url: string) => Handler][] = [
    ["a 404", () => () => new Response("gone", { status: 404 })],
    ["a 410", () => () => new Response("gone", { status: 410 })],
    ["a 503 more than an hour past expiry", () => () => new Response("down", { status: 503 })],
    ["an invalid document", () => () => Response.json(validDoc("https://someone-else.example/client.json"))],
    [
      "an HTML page",
      () => () => new Response("<html>maintenance</html>", { headers: { "content-type": "text/html" } }),
    ],
  ];

  test.each(failures)("a refresh after %s uses the last good copy", async (_what, handler) => {
    const { url, tokens } = await connectedDocClient();
    routes.set(pathOf(url), handler(url));
    at(300 + 3601);
    const res = await refreshRequest(app, url, tokens.refresh_token);
    expect(res.status).toBe(200);
    expect(app.logs.filter((l) => l.client_id === url).at(-1)).toMatchObject({
      msg: "client metadata document refused",
      served_last_good: true,
    });
  });

  test("a token-endpoint lookup after a timeout more than an hour past expiry uses the last good copy", async () => {
    const { url } = await connectedDocClient();
    routes.set(
      pathOf(url),
      () => new Promise((resolve) => setTimeout(() => resolve(Response.json(validDoc(url))), 2000)),
    );
    at(300 + 3601);
    expect((await resolveClient(deps({ cimdTimeoutMs: 200, useLastGoodCopy: true }), url))?.id).toBe(url);
    expect(logs.at(-1)).toMatchObject({ reason: "fetch_timeout", served_last_good: true });
  });

  test("the code exchange of a client with a live grant (never used yet) uses the last good copy after a 404", async () => {
    const { url, code } = await approvedDocClient();
    expect((await rowOf(url))!.lastUsedAt).toBeNull();
    routes.set(pathOf(url), () => new Response("gone", { status: 404 }));
    at(301);
    expect((await exchangeCode(app, url, code)).access_token).toBeString();
  });

  test("revocation with the client's client_id uses the last good copy after a 404", async () => {
    const { url, tokens } = await connectedDocClient();
    routes.set(pathOf(url), () => new Response("gone", { status: 404 }));
    at(301);
    expect((await postForm(app, "/oauth/revoke", { token: tokens.refresh_token, client_id: url })).status).toBe(200);
    expect((await grantOf(url)).revokedAt).toBeNumber();
  });

  test("a copy fetched 7 days minus a second ago is still used", async () => {
    const { url, tokens } = await connectedDocClient();
    routes.set(pathOf(url), () => new Response("gone", { status: 404 }));
    at(7 * day - 1);
    expect((await refreshRequest(app, url, tokens.refresh_token)).status).toBe(200);
  });

  test("a copy fetched 7 days ago is not: 401 invalid_client, and the grant stays", async () => {
    const { url, tokens } = await connectedDocClient();
    routes.set(pathOf(url), () => new Response("gone", { status: 404 }));
    at(7 * day);
    const res = await refreshRequest(app, url, tokens.refresh_token);
    expect([res.status, await errorOf(res)]).toEqual([401, "invalid_client"]);
    expect(await rowOf(url)).not.toBeNull();
    expect((await grantOf(url)).revokedAt).toBeNull();
  });

  test("a successful refetch restarts the 7 days", async () => {
    const { url, tokens } = await connectedDocClient();
    at(6 * day);
    const next = (await (await refreshRequest(app, url, tokens.refresh_token)).json()) as TokenBody;
    expect((await rowOf(url))!.metadataFetchedAt).toBe(start.getTime() / 1000 + 6 * day);
    routes.set(pathOf(url), () => new Response("gone", { status: 404 }));
    at(12 * day);
    expect((await refreshRequest(app, url, next.refresh_token)).status).toBe(200);
  });

  test("a client never used and without a live grant gets no last good copy", async () => {
    at(0);
    const url = docUrl();
    serveDoc(url, validDoc(url), { "cache-control": "max-age=300" });
    await resolveClient(deps(), url);
    routes.set(pathOf(url), () => new Response("gone", { status: 404 }));
    at(301);
    expect(await resolveClient(deps({ useLastGoodCopy: true }), url)).toBeNull();
  });

  test("a client whose grants were all revoked and that was never used gets no last good copy", async () => {
    const { url } = await approvedDocClient();
    const { oauthGrants } = app.db.tables;
    await app.db.update(oauthGrants).set({ revokedAt: 1 }).where(eq(oauthGrants.clientId, url));
    routes.set(pathOf(url), () => new Response("gone", { status: 404 }));
    at(301);
    expect(await resolveClient(deps({ useLastGoodCopy: true }), url)).toBeNull();
  });

  test("a new authorization re-checks: a 404 gets the error page, and the client, its grant and its refresh stay", async () => {
    const { url, user, tokens } = await connectedDocClient();
    routes.set(pathOf(url), () => new Response("gone", { status: 404 }));
    at(301);
    const query = new URLSearchParams({
      response_type: "code",
      client_id: url,
      redirect_uri: redirectUri,
      state: "state-123",
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    const page = await (await browserOf(app, user.id)).get(`/oauth/authorize?${query}`);
    expect(page.status).toBe(400);
    expect(page.headers.get("location")).toBeNull();
    expect(await page.text()).toContain("This app cannot connect");
    expect(await rowOf(url)).not.toBeNull();
    expect((await grantOf(url)).revokedAt).toBeNull();
    expect((await refreshRequest(app, url, tokens.refresh_token)).status).toBe(200);
  });
});

describe("cacheTtlSeconds", () => {
  test.each([
    [null, 3600],
    ["max-age=600", 600],
    ["public, max-age=7200", 7200],
    ["max-age=10", 300],
    ["max-age=0", 300],
    ["max-age=999999", 86400],
    ["no-store", 300],
    ["no-cache, max-age=3600", 300],
    ["s-maxage=900, max-age=60", 900],
    ["private", 3600],
    ["max-age=abc", 3600],
  ] as [string | null, number][])("%p is %p seconds", (header, seconds) => {
    expect(cacheTtlSeconds(header)).toBe(seconds);
  });
});

describe("clientIdUrlProblem", () => {
  test.each([
    "https://client.example/oauth/client.json",
    "https://client.example:8443/c",
    "https://client.example/c?v=1",
  ])("accepts %s", (url) => {
    expect(clientIdUrlProblem(url, false)).toBeNull();
  });

  test.each([
    "http://client.example/c",
    "http://127.0.0.1:8080/c",
    "https://client.example",
    "https://client.example/",
    "https://client.example/./c",
    "https://client.example/c#f",
    "https://user@client.example/c",
    `https://client.example/${"x".repeat(2000)}`,
    "not a url",
  ])("refuses %s", (url) => {
    expect(clientIdUrlProblem(url, false)).not.toBeNull();
  });

  test("accepts loopback http only when allowed", () => {
    expect(clientIdUrlProblem("http://localhost:9/c", true)).toBeNull();
    expect(clientIdUrlProblem("http://localhost:9/c", false)).not.toBeNull();
  });
});
