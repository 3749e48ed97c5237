import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../helpers.ts";
import { makeClient, postForm } from "./token-fixture.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());

const paths = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"];

describe.each(paths)("%s", (path) => {
  test("answers 200 JSON without authentication", async () => {
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
  });

  test("has the issuer byte-identical to the public origin, no trailing slash (field failure 1)", async () => {
    const doc = await (await app.request(path)).json();
    expect(doc.issuer).toBe(app.url);
    expect(doc.issuer.endsWith("/")).toBe(false);
  });

  test("advertises S256 only, code only, and the iss response parameter", async () => {
    const doc = await (await app.request(path)).json();
    expect(doc.code_challenge_methods_supported).toEqual(["S256"]);
    expect(doc.response_types_supported).toEqual(["code"]);
    expect(doc.authorization_response_iss_parameter_supported).toBe(true);
  });

  test("advertises CIMD with `none` among auth methods (field failure 10)", async () => {
    const doc = await (await app.request(path)).json();
    expect(doc.client_id_metadata_document_supported).toBe(true);
    expect(doc.token_endpoint_auth_methods_supported).toEqual(["none", "client_secret_post", "client_secret_basic"]);
  });

  test("advertises the MCP scopes and every endpoint on the issuer", async () => {
    const doc = await (await app.request(path)).json();
    expect(doc.scopes_supported).toEqual(["mcp:read", "mcp:write"]);
    for (const key of [
      "authorization_endpoint",
      "token_endpoint",
      "registration_endpoint",
      "revocation_endpoint",
      "introspection_endpoint",
    ]) {
      expect(doc[key].startsWith(`${app.url}/oauth/`)).toBe(true);
    }
  });

  test("carries CORS on GET and answers a preflight (field failure 8)", async () => {
    const res = await app.request(path, { headers: { origin: "https://inspector.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const pre = await app.request(path, {
      method: "OPTIONS",
      headers: { origin: "https://inspector.example", "access-control-request-method": "GET" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
  });
});

test("every grant type the metadata advertises is one the token endpoint takes", async () => {
  const doc = (await (await app.request(paths[0]!)).json()) as { grant_types_supported: string[] };
  expect(doc.grant_types_supported).toEqual([
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "client_credentials",
  ]);
  const { client } = await makeClient(app);
  for (const grantType of [...doc.grant_types_supported, "password"]) {
    const res = await postForm(app, "/oauth/token", { grant_type: grantType, client_id: client.id });
    const { error } = (await res.json()) as { error: string };
    expect({ grantType, unsupported: error === "unsupported_grant_type" }).toEqual({
      grantType,
      unsupported: grantType === "password",
    });
  }
});
