import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomInt } from "node:crypto";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { makeUser } from "../support/factories.ts";

// Issue 16: with GATEHOUSE_REDIS_URL, instances count sign-in failures in one
// place, so spreading guesses over instances buys nothing. Two apps here, each
// with its own database, on the Redis of GATEHOUSE_TEST_REDIS_URL. Each run
// uses an address and an email of its own: Redis keeps counts between runs.
const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;
const password = "correct horse battery staple";

describe.if(redisUrl !== undefined)("two instances on one Redis", () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const env = { GATEHOUSE_REDIS_URL: redisUrl!, GATEHOUSE_TRUST_PROXY: "true" };
    [a, b] = await Promise.all([createTestApp({ env }), createTestApp({ env })]);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  /** A password sign-in on `app` from `address`; its status. */
  async function signIn(app: TestApp, address: string, email: string, secret = "a wrong guess entirely") {
    const browser = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await browser.get("/sign-in")).text());
    const res = await browser.post("/sign-in", { csrf, email, password: secret }, { "x-forwarded-for": address });
    await res.arrayBuffer();
    return res.status;
  }
  // The last X-Forwarded-For entry is the client address (GATEHOUSE_TRUST_PROXY).
  const anAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`;

  test("5 failures for an account spread over both: the right password is refused 429 on either", async () => {
    const user = await makeUser(b, { password });
    const address = anAddress();
    for (const app of [a, b, a, b, a]) expect(await signIn(app, address, user.email)).toBe(401);
    expect(await signIn(b, address, user.email, password)).toBe(429);
  });

  test("20 failures from one address spread over both, across accounts: the next is refused 429", async () => {
    const address = anAddress();
    const run = randomInt(1e9);
    const statuses = await Promise.all(
      Array.from({ length: 21 }, (_, i) => signIn(i % 2 ? a : b, address, `someone${i}.${run}@example.com`)),
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
  });
});
