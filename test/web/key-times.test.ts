import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUser } from "../../src/accounts/users.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";

// The keys page's times and expiry, drawn against the app's own clock (createTestApp's `now`).

const password = "correct horse battery staple";
const now = Math.floor(Date.parse("2026-05-10T12:00:00Z") / 1000);
const day = 86400;
let app: TestApp;
let alice: { id: string; b: Browser };

beforeAll(async () => {
  app = await createTestApp({ listen: false, now: () => now });
  const user = await createUser(app.db, {
    email: "alice@example.com",
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: false,
    now: now - 30 * day,
  });
  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  expect((await b.post("/sign-in", { csrf, email: "alice@example.com", password })).status).toBe(303);
  alice = { id: user.id, b };
});
afterAll(() => app.close());

/** A key of alice's made `age` seconds before now, lasting `lifetime` seconds (null: forever). */
async function keyOf(name: string, age: number, lifetime: number | null): Promise<string> {
  return (
    await createApiKey(app.db, {
      userId: alice.id,
      name,
      access: "read",
      expiresInSeconds: lifetime,
      now: now - age,
    })
  ).apiKey.id;
}

/** The <tr> of one key on /keys. */
async function rowOf(id: string): Promise<string> {
  const html = await (await alice.b.get("/keys")).text();
  const row = new RegExp(`<tr data-key-id="${id}"[\\s\\S]*?</tr>`).exec(html);
  expect(row).not.toBeNull();
  return row![0];
}

/** How many keys /keys lists. */
async function listed(): Promise<number> {
  return ((await (await alice.b.get("/keys")).text()).match(/<tr data-key-id=/g) ?? []).length;
}

describe("times on the keys page", () => {
  test("are relative to the app's clock, with the exact UTC time in datetime and title", async () => {
    const row = await rowOf(await keyOf("three minutes old", 180, 7 * day));
    expect(row).toContain('<time datetime="2026-05-10T11:57:00.000Z" title="2026-05-10 11:57 UTC">3 min ago</time>');
    expect(row).toContain('<time datetime="2026-05-17T11:57:00.000Z" title="2026-05-17 11:57 UTC">in 7 days</time>');
  });
});

describe("expiry on the keys page", () => {
  test("an expired key says Expired and offers Revoke but not Rotate", async () => {
    const id = await keyOf("expired yesterday", 8 * day, 7 * day);
    const row = await rowOf(id);
    expect(row).toContain('<span class="badge expired">Expired</span>');
    expect(row).toContain(">yesterday</time>");
    expect(row).not.toContain(`/keys/${id}/rotate`);
    expect(row).toContain(`/keys/${id}/revoke`);
  });

  test("an expired key cannot be rotated by URL either: 409 on the question and the post, and no new key", async () => {
    const id = await keyOf("expired, rotated by hand", 8 * day, 7 * day);
    const asked = await alice.b.get(`/keys/${id}/rotate`);
    expect(asked.status).toBe(409);
    expect(await asked.text()).toContain("has expired, so it cannot be rotated");
    const csrf = Browser.csrfOf(await (await alice.b.get("/keys")).text());
    const before = await listed();
    expect((await alice.b.post(`/keys/${id}/rotate`, { csrf })).status).toBe(409);
    expect(await listed()).toBe(before);
  });

  test("a key ending within 7 days says Expires soon and can still be rotated", async () => {
    const id = await keyOf("ends in three days", 4 * day, 7 * day);
    const row = await rowOf(id);
    expect(row).toContain('<span class="badge soon">Expires soon</span>');
    expect(row).toContain(`/keys/${id}/rotate`);
  });

  test("a key ending in 8 days, or never, has no badge", async () => {
    expect(await rowOf(await keyOf("ends in eight days", 22 * day, 30 * day))).not.toContain('class="badge');
    const never = await rowOf(await keyOf("never ends", day, null));
    expect(never).not.toContain('class="badge');
    expect(never).toContain("Never");
  });
});
