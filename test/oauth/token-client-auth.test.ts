import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../helpers.ts";
import { basicAuth, makeClient, makeCode, makeUser, postForm, redirectUri, verifier } from "./token-fixture.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
});
afterAll(() => app.close());

async function fresh(opts: { method?: "none" | "client_secret_post" | "client_secret_basic" } = {}) {
  const user = await makeUser(app);
  const { client, secret } = await makeClient(app, opts);
  const { code } = await makeCode(app, { userId: user.id, clientId: client.id });
  return { client, secret, code };
}

const codeParams = (clientId: string, code: string, extra: Record<string, string> = {}) => ({
  grant_type: "authorization_code",
  code,
  redirect_uri: redirectUri,
  code_verifier: verifier,
  client_id: clientId,
  ...extra,
});

async function errorOf(res: Response) {
  return ((await res.json()) as { error: string }).error;
}

describe("client authentication (RFC 6749 §2.3)", () => {
  test("an unknown client_id is 401 invalid_client", async () => {
    const { code } = await fresh();
    const res = await postForm(app, "/oauth/token", codeParams("no-such-client", code));
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toBe("invalid_client");
  });

  test("an unknown client over Basic gets WWW-Authenticate: Basic", async () => {
    const { code } = await fresh();
    const { client_id: _, ...params } = codeParams("x", code);
    const res = await postForm(app, "/oauth/token", params, { authorization: basicAuth("no-such-client", "secret") });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Basic");
  });

  test("client_secret_post with the right secret succeeds", async () => {
    const { client, secret, code } = await fresh({ method: "client_secret_post" });
    const res = await postForm(app, "/oauth/token", codeParams(client.id, code, { client_secret: secret! }));
    expect(res.status).toBe(200);
  });

  test("client_secret_post with a wrong secret is 401 invalid_client", async () => {
    const { client, code } = await fresh({ method: "client_secret_post" });
    const res = await postForm(app, "/oauth/token", codeParams(client.id, code, { client_secret: "wrong" }));
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toBe("invalid_client");
  });

  test("client_secret_basic with the right secret succeeds", async () => {
    const { client, secret, code } = await fresh({ method: "client_secret_basic" });
    const { client_id: _, ...params } = codeParams(client.id, code);
    const res = await postForm(app, "/oauth/token", params, { authorization: basicAuth(client.id, secret!) });
    expect(res.status).toBe(200);
  });

  test("client_secret_basic decodes form-urlencoded credentials (§2.3.1)", async () => {
    const { client, secret, code } = await fresh({ method: "client_secret_basic" });
    // "+" and "%2B"-style escapes must decode; encode every character to prove it.
    const encoded = [...secret!].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    const { client_id: _, ...params } = codeParams(client.id, code);
    const res = await postForm(app, "/oauth/token", params, {
      authorization: `Basic ${btoa(`${client.id}:${encoded}`)}`,
    });
    expect(res.status).toBe(200);
  });

  test("client_secret_basic with a wrong secret is 401 with WWW-Authenticate: Basic", async () => {
    const { client, code } = await fresh({ method: "client_secret_basic" });
    const { client_id: _, ...params } = codeParams(client.id, code);
    const res = await postForm(app, "/oauth/token", params, { authorization: basicAuth(client.id, "wrong") });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Basic");
  });

  test("a confidential client sending no secret is 401 invalid_client", async () => {
    const { client, code } = await fresh({ method: "client_secret_post" });
    const res = await postForm(app, "/oauth/token", codeParams(client.id, code));
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toBe("invalid_client");
  });

  test("a client_secret_basic client using client_secret_post is invalid_client", async () => {
    const { client, secret, code } = await fresh({ method: "client_secret_basic" });
    const res = await postForm(app, "/oauth/token", codeParams(client.id, code, { client_secret: secret! }));
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toBe("invalid_client");
  });

  test("a public client sending a secret is invalid_client", async () => {
    const { client, code } = await fresh();
    const res = await postForm(app, "/oauth/token", codeParams(client.id, code, { client_secret: "anything" }));
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toBe("invalid_client");
  });

  test("no client_id at all is 401 invalid_client", async () => {
    const { code } = await fresh();
    const { client_id: _, ...params } = codeParams("x", code);
    const res = await postForm(app, "/oauth/token", params);
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toBe("invalid_client");
  });
});
