import { afterAll, beforeAll, expect, test } from "bun:test";
import { createUser } from "../../src/accounts/users.ts";
import { createTestApp, Browser, type TestApp } from "../helpers.ts";
import { keyFor, rpc } from "../mcp/fixture.ts";
import { exchangeCode, makeClient, makeCode, nowSeconds } from "../oauth/token-fixture.ts";

// Disabling a person on the People page stops their API key and their OAuth
// connection on the very next /mcp request, although the bearer check caches
// both (the auth_epoch trigger on users.disabled_at drops the cache).
const password = "correct horse battery staple";
const listTools = { jsonrpc: "2.0", id: 1, method: "tools/list" };
const legacy = { "mcp-protocol-version": "2025-06-18" };
const status = async (token: string) => {
  const res = await rpc(app, token, listTools, legacy);
  await res.arrayBuffer();
  return res.status;
};

let app: TestApp;
beforeAll(async () => {
  // Over a socket: /mcp reads the auth epoch once per event-loop turn, and a request sent after the page's
  // answer comes from its socket in a later turn (src/mcp/credential-cache.ts).
  app = await createTestApp();
});
afterAll(() => app.close());

test("a web disable makes the person's API key and OAuth token 401 on the next /mcp request", async () => {
  await createUser(app.db, {
    email: "admin@example.com",
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: true,
    now: nowSeconds(),
  });
  const person = await createUser(app.db, {
    email: "person@example.com",
    password: null,
    isAdmin: false,
    now: nowSeconds(),
  });
  const { token: apiKey } = await keyFor(app, person.id);
  const { client } = await makeClient(app);
  const { code } = await makeCode(app, { userId: person.id, clientId: client.id });
  const { access_token: accessToken } = await exchangeCode(app, client.id, code);
  // Twice each, so both sit in the bearer cache.
  for (let i = 0; i < 2; i++) expect([await status(apiKey), await status(accessToken)]).toEqual([200, 200]);

  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  expect((await b.post("/sign-in", { csrf, email: "admin@example.com", password })).status).toBe(303);
  const formToken = Browser.csrfOf(await (await b.get("/admin/people")).text());
  expect((await b.post(`/admin/people/${person.id}/disable`, { csrf: formToken })).status).toBe(303);

  expect(await status(apiKey)).toBe(401);
  expect(await status(accessToken)).toBe(401);
});
