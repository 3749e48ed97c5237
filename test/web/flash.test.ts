import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encodeBase64urlNoPadding } from "@oslojs/encoding";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { makeUser } from "../support/factories.ts";

// The message an action leaves for the page its redirect lands on
// (src/web/flash.ts): text only, escaped, shown once, and a cookie that is
// not one of ours shows nothing rather than failing the page.

const password = "correct horse battery staple";
let app: TestApp;
let b: Browser;
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  await makeUser(app, { email: "flash@example.com", password });
  b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  expect((await b.post("/sign-in", { csrf, email: "flash@example.com", password })).status).toBe(303);
});
afterAll(() => app.close());

const encoded = (text: string) => encodeBase64urlNoPadding(new TextEncoder().encode(text));

describe("flash messages", () => {
  test("markup in a message is drawn as text", async () => {
    b.cookies.set("gatehouse_flash", encoded("<script>alert(1)</script> done"));
    const html = await (await b.get("/keys")).text();
    expect(html).toContain('<p class="flash" role="status">&lt;script&gt;alert(1)&lt;/script&gt; done</p>');
  });

  test("reading one clears its cookie", async () => {
    b.cookies.set("gatehouse_flash", encoded("shown-a-single-time"));
    const res = await b.get("/keys");
    expect(res.headers.getSetCookie().some((c) => /^gatehouse_flash=;.*Max-Age=0/i.test(c))).toBe(true);
    expect(await (await b.get("/keys")).text()).not.toContain("shown-a-single-time");
  });

  for (const [what, value] of [
    ["not base64url", "%%%not-base64%%%"],
    ["not UTF-8", encodeBase64urlNoPadding(new Uint8Array([0xff, 0xfe, 0xfd]))],
  ] as const) {
    test(`a cookie that is ${what} shows nothing, and the page is drawn`, async () => {
      b.cookies.set("gatehouse_flash", value);
      const res = await b.get("/keys");
      expect(res.status).toBe(200);
      expect(await res.text()).not.toContain('class="flash"');
    });
  }

  test("a POST's page (a form drawn again with an error) leaves the message for the next GET", async () => {
    const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
    b.cookies.set("gatehouse_flash", encoded("kept"));
    const res = await b.post("/keys", { csrf, name: "", access: "read", expires_in: "never" });
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain("kept");
    expect(await (await b.get("/keys")).text()).toContain('<p class="flash" role="status">kept</p>');
  });
});
