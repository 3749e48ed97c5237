import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../helpers.ts";
import { prmPath } from "./fixture.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());

const paths = [prmPath, "/.well-known/oauth-protected-resource"];

describe.each(paths)("RFC 9728 metadata at %s", (path) => {
  test("answers 200 JSON without authentication", async () => {
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
  });

  test("is never behind the bearer check, even with a bad token (field failure 8)", async () => {
    const res = await app.request(path, { headers: { authorization: "Bearer gate_key_nonsense" } });
    expect(res.status).toBe(200);
  });

  test("is exactly the documented document", async () => {
    const doc = await (await app.request(path)).json();
    expect(doc).toEqual({
      resource: `${app.url}/mcp`,
      authorization_servers: [app.url],
      scopes_supported: ["mcp:read", "mcp:write"],
      bearer_methods_supported: ["header"],
      resource_name: "Gatehouse",
    });
  });

  test("names the resource with the /mcp path and no trailing slash (field failure 2)", async () => {
    const doc = await (await app.request(path)).json();
    expect(doc.resource).toBe(`${app.url}/mcp`);
    expect(doc.resource.endsWith("/")).toBe(false);
  });

  test("lists the issuer byte-identical to the authorization server metadata (field failure 1)", async () => {
    const doc = await (await app.request(path)).json();
    for (const asPath of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
      const as = await (await app.request(asPath)).json();
      expect(doc.authorization_servers).toEqual([as.issuer]);
    }
  });

  test("does not advertise offline_access", async () => {
    const doc = await (await app.request(path)).json();
    expect(doc.scopes_supported).not.toContain("offline_access");
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
