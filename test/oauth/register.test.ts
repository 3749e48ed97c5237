import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createTestApp, type TestApp } from "../helpers.ts";
import { selectSql } from "../support/sql.ts";
import {
  register as registerAt,
  rowCount as countAt,
  rowOf as rowAt,
  sha256Hex,
  uniqueUri,
} from "./register-fixture.ts";

// RFC 7591 at /oauth/register: every field rule, the body, CORS, and
// confidential clients' secrets. Deduplication, the rate limit, persistence
// and expiry are in registration.test.ts.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: "true" }, listen: false });
});
afterAll(() => app.close());

const register = (body: unknown, opts: Parameters<typeof registerAt>[2] & { base?: string } = {}) =>
  registerAt(opts.base ?? app, body, opts);
const rowOf = (id: unknown) => rowAt(app, id);
const rowCount = () => countAt(app);

describe("a public registration", () => {
  test("is 201 with a gate_client_ id and token_endpoint_auth_method none", async () => {
    const { res, json } = await register({
      client_name: "Claude",
      redirect_uris: [uniqueUri()],
      token_endpoint_auth_method: "none",
    });
    expect(res.status).toBe(201);
    expect(json.client_id).toMatch(/^gate_client_[a-z2-7]{16}$/);
    expect(json.token_endpoint_auth_method).toBe("none");
  });

  test("gets no client_secret", async () => {
    const { json } = await register({ redirect_uris: [uniqueUri()], token_endpoint_auth_method: "none" });
    expect(json.client_secret).toBeUndefined();
    expect(json.client_secret_expires_at).toBeUndefined();
  });

  test("echoes the registered metadata (RFC 7591 §3.2.1)", async () => {
    const uri = uniqueUri();
    const { json } = await register({
      client_name: "Echo",
      redirect_uris: [uri],
      client_uri: "https://client.example",
    });
    expect(json).toMatchObject({
      client_name: "Echo",
      redirect_uris: [uri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      scope: "mcp:read mcp:write",
      client_uri: "https://client.example",
    });
    expect(json.client_id_issued_at).toBeNumber();
  });

  test("is stored as a dcr client with its redirect URIs", async () => {
    const uri = uniqueUri();
    const { json } = await register({ client_name: "Stored", redirect_uris: [uri] });
    expect(await rowOf(json.client_id)).toMatchObject({
      kind: "dcr",
      name: "Stored",
      redirectUris: JSON.stringify([uri]),
      secretHash: null,
    });
  });

  test("without token_endpoint_auth_method is registered as public (none), not client_secret_basic", async () => {
    const { json } = await register({ client_name: "Tokencraft-style", redirect_uris: [uniqueUri()] });
    expect(json.token_endpoint_auth_method).toBe("none");
    expect(json.client_secret).toBeUndefined();
    expect((await rowOf(json.client_id))!.tokenEndpointAuthMethod).toBe("none");
  });

  test("without client_name is named after its first redirect URI's host", async () => {
    const { json } = await register({ redirect_uris: ["cursor://anysphere.cursor-mcp/oauth/callback/unnamed"] });
    expect(json.client_name).toBe("anysphere.cursor-mcp");
  });

  test("is sent with Cache-Control: no-store and CORS headers", async () => {
    const { res } = await register({ redirect_uris: [uniqueUri()] });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("content-type")).toContain("application/json");
  });

  test("VS Code's real registration succeeds with the device_code grant; unknown scope is dropped", async () => {
    const { res, json } = await register({
      client_name: "Visual Studio Code",
      client_uri: "https://code.visualstudio.com",
      grant_types: ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
      response_types: ["code"],
      redirect_uris: [
        "https://insiders.vscode.dev/redirect",
        "https://vscode.dev/redirect",
        "http://localhost/",
        "http://127.0.0.1/",
        "http://localhost:33418/",
        "http://127.0.0.1:33418/",
      ],
      scope: "read:data",
      token_endpoint_auth_method: "none",
      application_type: "native",
    });
    expect(res.status).toBe(201);
    expect(json.grant_types).toEqual([
      "authorization_code",
      "refresh_token",
      "urn:ietf:params:oauth:grant-type:device_code",
    ]);
    expect(json.scope).toBe("mcp:read mcp:write");
  });
});

describe("redirect URIs (field failure 5)", () => {
  test.each([
    "cursor://anysphere.cursor-mcp/oauth/callback",
    "https://vscode.dev/redirect",
    "vscode://vscode.github-authentication/did-authenticate",
    "http://127.0.0.1:33418/callback",
    "http://localhost/callback",
    "http://[::1]:8080/callback",
    "https://claude.ai/api/mcp/auth_callback",
    "com.example.app:/oauth2redirect",
  ])("%s is accepted", async (uri) => {
    const { res, json } = await register({ client_name: `accept ${uri}`, redirect_uris: [uri] });
    expect(res.status).toBe(201);
    expect(json.redirect_uris).toEqual([uri]);
  });

  const refused: [string, unknown][] = [
    ["missing", undefined],
    ["an empty array", []],
    ["a string instead of an array", "https://client.example/cb"],
    ["a non-string entry", [42]],
    ["a fragment", ["https://client.example/cb#frag"]],
    ["javascript:", ["javascript:alert(1)"]],
    ["data:", ["data:text/html,hi"]],
    ["file:", ["file:///etc/passwd"]],
    ["http on a non-loopback host", ["http://client.example/cb"]],
    ["a relative URI", ["/callback"]],
    ["credentials", ["https://user:pw@client.example/cb"]],
    ["21 URIs", Array.from({ length: 21 }, (_, i) => `https://client.example/cb${i}`)],
    ["a 2001-character URI", [`https://client.example/${"x".repeat(1978)}`]],
    ["one bad among good", ["https://client.example/good", "javascript:alert(1)"]],
  ];
  test.each(refused)("%s is 400 invalid_redirect_uri and stores nothing", async (_what, uris) => {
    const before = await rowCount();
    const { res, json } = await register({ client_name: "refused", redirect_uris: uris });
    expect(res.status).toBe(400);
    expect(json.error).toBe("invalid_redirect_uri");
    expect(await rowCount()).toBe(before);
  });

  test("duplicates are registered once", async () => {
    const uri = uniqueUri();
    const { json } = await register({ redirect_uris: [uri, uri] });
    expect(json.redirect_uris).toEqual([uri]);
  });
});

describe("other metadata", () => {
  const invalid: [string, Record<string, unknown>][] = [
    ["token_endpoint_auth_method private_key_jwt", { token_endpoint_auth_method: "private_key_jwt" }],
    ["token_endpoint_auth_method client_secret_jwt", { token_endpoint_auth_method: "client_secret_jwt" }],
    ["token_endpoint_auth_method not a string", { token_endpoint_auth_method: 1 }],
    ["grant_types without authorization_code", { grant_types: ["client_credentials"] }],
    ["grant_types implicit", { grant_types: ["implicit"] }],
    ["grant_types not an array", { grant_types: "authorization_code" }],
    ["response_types token", { response_types: ["token"] }],
    ["response_types with code and token", { response_types: ["code", "token"] }],
    ["response_types not an array", { response_types: "code" }],
    ["client_name of 201 characters", { client_name: "n".repeat(201) }],
    ["client_name not a string", { client_name: 7 }],
    ["client_name with a control character", { client_name: "bad\u0007name" }],
    ["scope not a string", { scope: ["mcp:read"] }],
    ["client_uri javascript:", { client_uri: "javascript:alert(1)" }],
    ["client_uri not a URL", { client_uri: "not a url" }],
  ];
  test.each(invalid)("%s is 400 invalid_client_metadata and stores nothing", async (_what, extra) => {
    const before = await rowCount();
    const { res, json } = await register({ redirect_uris: [uniqueUri()], ...extra });
    expect(res.status).toBe(400);
    expect(json.error).toBe("invalid_client_metadata");
    expect(await rowCount()).toBe(before);
  });

  test("client_name of 200 characters is accepted", async () => {
    const { res } = await register({ client_name: "n".repeat(200), redirect_uris: [uniqueUri()] });
    expect(res.status).toBe(201);
  });

  test("a device-only client registers without redirect URIs (RFC 8628)", async () => {
    const grantTypes = ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"];
    const { res, json } = await register({ client_name: "deploy CLI", grant_types: grantTypes });
    expect([res.status, json.redirect_uris, [...(json.grant_types as string[])].sort()]).toEqual([
      201,
      [],
      [...grantTypes].sort(),
    ]);
  });

  test("a device-only client that sends redirect URIs still has them checked", async () => {
    const { res, json } = await register({
      grant_types: ["urn:ietf:params:oauth:grant-type:device_code"],
      redirect_uris: ["javascript:alert(1)"],
    });
    expect([res.status, json.error]).toEqual([400, "invalid_redirect_uri"]);
  });

  test("grant_types [authorization_code] is registered as asked", async () => {
    const { json } = await register({ grant_types: ["authorization_code"], redirect_uris: [uniqueUri()] });
    expect(json.grant_types).toEqual(["authorization_code"]);
  });

  test("scope keeps the supported words and drops the rest", async () => {
    const { json } = await register({ scope: "offline_access mcp:read openid", redirect_uris: [uniqueUri()] });
    expect(json.scope).toBe("mcp:read");
  });

  test("unknown fields are ignored (RFC 7591 §2)", async () => {
    const { res } = await register({
      redirect_uris: [uniqueUri()],
      logo_uri: "https://x.example/logo.png",
      contacts: ["a@b.c"],
      software_id: "x",
    });
    expect(res.status).toBe(201);
  });
});

describe("the request body", () => {
  test("that is not JSON is 400 invalid_request", async () => {
    const { res, json } = await register(null, { raw: "{not json" });
    expect(res.status).toBe(400);
    expect(json.error).toBe("invalid_request");
  });

  test("sent as a form is 400 invalid_request", async () => {
    const { res, json } = await register(null, {
      raw: "redirect_uris=https://a.example/cb",
      contentType: "application/x-www-form-urlencoded",
    });
    expect(res.status).toBe(400);
    expect(json.error).toBe("invalid_request");
  });

  test("that is a JSON array is 400 invalid_client_metadata", async () => {
    const { json } = await register([{ redirect_uris: [uniqueUri()] }]);
    expect(json.error).toBe("invalid_client_metadata");
  });

  test("errors carry CORS headers and Cache-Control: no-store", async () => {
    const { res } = await register({ redirect_uris: ["javascript:x"] });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("errors have an error_description", async () => {
    const { json } = await register({ redirect_uris: ["https://client.example/cb#x"] });
    expect(json.error_description).toContain("fragment");
  });
});

describe("CORS preflight", () => {
  test("OPTIONS is 204 with the CORS headers", async () => {
    const res = await app.request("/oauth/register", {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:6274",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")).toContain("content-type");
  });
});

describe("a confidential registration", () => {
  test("client_secret_post gets a gate_cs_ secret that never expires", async () => {
    const { res, json } = await register({
      redirect_uris: [uniqueUri()],
      token_endpoint_auth_method: "client_secret_post",
    });
    expect(res.status).toBe(201);
    expect(json.client_secret).toMatch(/^gate_cs_[a-z2-7]{16}_[a-z2-7]{52}$/);
    expect(json.client_secret_expires_at).toBe(0);
  });

  test("client_secret_basic gets a secret too", async () => {
    const { json } = await register({
      redirect_uris: [uniqueUri()],
      token_endpoint_auth_method: "client_secret_basic",
    });
    expect(json.client_secret).toMatch(/^gate_cs_/);
  });

  test("stores only the SHA-256 of the secret, never the secret", async () => {
    const { json } = await register({ redirect_uris: [uniqueUri()], token_endpoint_auth_method: "client_secret_post" });
    const secret = String(json.client_secret);
    expect((await rowOf(json.client_id))!.secretHash).toBe(sha256Hex(secret));
    const [raw] = await selectSql(app.db, sql`SELECT * FROM oauth_clients WHERE id = ${String(json.client_id)}`);
    expect(JSON.stringify(raw)).not.toContain(secret);
    expect(JSON.stringify(raw)).not.toContain(secret.slice(-52));
  });

  test("identical confidential registrations get separate clients and secrets", async () => {
    const body = {
      client_name: "Twin",
      redirect_uris: [uniqueUri()],
      token_endpoint_auth_method: "client_secret_basic",
    };
    const a = await register(body);
    const b = await register(body);
    expect(a.json.client_id).not.toBe(b.json.client_id);
    expect(a.json.client_secret).not.toBe(b.json.client_secret);
  });
});
