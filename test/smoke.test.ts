import { afterAll, beforeAll, expect, test } from "bun:test";
import { Browser, createTestApp, type TestApp } from "./helpers.ts";

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ setupToken: "setup-token-for-tests-000" });
});
afterAll(() => app.close());

test("setup link creates the first admin and signs them in", async () => {
  const b = new Browser(app.url);
  const page = await b.get(`/setup?token=${app.setupToken}`);
  expect(page.status).toBe(200);
  const csrf = Browser.csrfOf(await page.text());
  const res = await b.post("/setup", { csrf, token: app.setupToken!, email: "root@example.com", password: "a long enough password" });
  expect(res.status).toBe(303);
  expect(res.headers.get("location")).toBe("/keys");
  const keys = await b.get("/keys");
  expect(keys.status).toBe(200);
  expect(await keys.text()).toContain("root@example.com");
});
