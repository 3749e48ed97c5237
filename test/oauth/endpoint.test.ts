// The steps every OAuth protocol endpoint shares (src/oauth/endpoints/endpoint.ts),
// checked on each endpoint alike: the preflight, the body rules, the RFC 6749 §5.2
// error shape with its CORS headers, and the Basic challenge of a failed client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { corsHeaders } from "../../src/oauth/endpoints/endpoint.ts";
import { oauthPaths } from "../../src/oauth/paths.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { basicAuth, postForm } from "./token-fixture.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());

/** Each form endpoint, whether browsers may call it, and whether it authenticates clients by the Authorization header. */
const formEndpoints = [
  { path: oauthPaths.token, cors: true, clientAuth: true },
  { path: oauthPaths.revoke, cors: true, clientAuth: true },
  { path: oauthPaths.introspect, cors: false, clientAuth: true },
  { path: oauthPaths.deviceAuthorization, cors: true, clientAuth: true },
  { path: oauthPaths.bridgePoll, cors: true, clientAuth: false },
];

function expectCors(res: Response, present: boolean) {
  for (const [name, value] of Object.entries(corsHeaders)) expect(res.headers.get(name)).toBe(present ? value : null);
}

describe.each(formEndpoints)("$path", ({ path, cors, clientAuth }) => {
  test(cors ? "answers a CORS preflight with 204" : "has no CORS preflight", async () => {
    const res = await app.request(path, { method: "OPTIONS" });
    expect(res.status).toBe(cors ? 204 : 404);
    if (cors) expectCors(res, true);
  });

  test("refuses a parameter sent twice as invalid_request, uncached, with its CORS headers", async () => {
    const res = await postForm(app, path, [
      ["client_id", "a"],
      ["client_id", "b"],
    ]);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "invalid_request",
      error_description: "The parameter client_id was sent more than once.",
    });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    expectCors(res, cors);
  });

  test("refuses a body that is not a form as invalid_request", async () => {
    const res = await app.request(path, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "client_id=a",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_request");
    expectCors(res, cors);
  });

  test(
    clientAuth ? "challenges failed Basic credentials with Basic" : "sends no challenge: it authenticates no client",
    async () => {
      const res = await postForm(
        app,
        path,
        { token: "x", state: "s".repeat(40), grant_type: "client_credentials" },
        { authorization: basicAuth("nosuchclient", "wrong") },
      );
      if (clientAuth) {
        expect(res.status).toBe(401);
        expect(((await res.json()) as { error: string }).error).toBe("invalid_client");
        expect(res.headers.get("www-authenticate")).toBe('Basic realm="gatehouse"');
      } else {
        expect(res.headers.get("www-authenticate")).toBeNull();
      }
      expectCors(res, cors);
    },
  );
});

test("the registration endpoint answers errors as RFC 6749 JSON with CORS headers", async () => {
  const res = await app.request(oauthPaths.register, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "{}",
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({
    error: "invalid_request",
    error_description: "Send the registration as application/json.",
  });
  expect(res.headers.get("cache-control")).toBe("no-store");
  expectCors(res, true);
});

test("introspection with a Bearer credential is challenged with Bearer, whatever failed", async () => {
  const res = await postForm(
    app,
    oauthPaths.introspect,
    { token: "x" },
    { authorization: "Bearer gate_key_nosuchkey" },
  );
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe('Bearer realm="gatehouse"');
});
