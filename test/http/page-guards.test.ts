import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { desc, eq } from "drizzle-orm";
import { openSession } from "../../src/accounts/sessions.ts";
import { insertUser } from "../support/rows.ts";
import { createApp } from "../../src/app.ts";
import { createAuditRecorder } from "../../src/audit/recorder.ts";
import { loadConfig } from "../../src/config.ts";
import { first } from "../../src/db/transaction.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { createLogger } from "../../src/log.ts";
import { randomString } from "../../src/security/tokens.ts";
import { tempDir } from "../helpers.ts";
import { openTestStore } from "../support/store.ts";

// The answers of the route options form, signedIn and admin
// (src/http/page-guards.ts), and the request context every route gets.

const publicUrl = "http://127.0.0.1:8080";
const nowSeconds = () => Math.floor(Date.now() / 1000);
const dataDir = tempDir();
const store = await openTestStore(dataDir);
const { db } = store;
const config = loadConfig({ GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_PUBLIC_URL: publicUrl, ...store.env });
const audit = createAuditRecorder({
  db,
  log: createLogger(() => {}),
  now: nowSeconds,
  argumentsMode: config.auditArguments,
  batch: false,
});
const app = createApp({ config, db, log: createLogger(() => {}), now: nowSeconds, audit });
afterAll(async () => {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const formToken = randomString(16);

/** A browser's cookie header: a session for a new user (when given) and a form token cookie. */
async function browser(user?: { isAdmin: boolean; withKey?: boolean }): Promise<string> {
  const cookies = [`gatehouse_csrf=${formToken}`];
  if (user) {
    const userId = randomString(10);
    await insertUser(db, {
      id: userId,
      email: `${userId}@example.com`,
      passwordHash: null,
      isAdmin: user.isAdmin,
      createdAt: nowSeconds(),
      disabledAt: null,
    });
    const key = user.withKey
      ? (await createApiKey(db, { userId, name: "ci", access: "full", expiresInSeconds: null, now: nowSeconds() }))
          .apiKey
      : null;
    const session = await openSession(db, {
      userId,
      apiKeyId: key?.id ?? null,
      apiKeyExpiresAt: null,
      now: nowSeconds(),
    });
    cookies.push(`gatehouse_session=${session.token}`);
  }
  return cookies.join("; ");
}

const post = (path: string, cookie: string, form: Record<string, string>) =>
  app.handle(
    new Request(publicUrl + path, {
      method: "POST",
      headers: { cookie, origin: publicUrl, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    }),
  );
const get = (path: string, cookie: string) => app.handle(new Request(publicUrl + path, { headers: { cookie } }));

describe("form", () => {
  test("a post without the form token gets the 403 page linking back, as a page with the page headers", async () => {
    const res = await post("/keys/some-key/revoke", await browser({ isAdmin: false }), {});
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-request-id")).toMatch(/^[a-z2-7]{8}-[0-9a-z]+$/);
    const html = await res.text();
    expect(html).toContain("Form refused");
    expect(html).toContain('href="/keys"');
  });

  test("`form: true` links back to the post's own path", async () => {
    const res = await post("/invite/some-token", await browser(), {});
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('href="/invite/some-token"');
  });
});

describe("signedIn and admin", () => {
  test("a signed-out page request is sent to sign in, and back with its query afterwards", async () => {
    const res = await get("/admin/audit?event=sign_in", await browser());
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/sign-in?next=${encodeURIComponent("/admin/audit?event=sign_in")}`);
  });

  test("a signed-out form post with its token gets the 401 page, linking to sign in and back to the form's page", async () => {
    const res = await post("/admin/people/invite", await browser(), { csrf: formToken, email: "new@example.com" });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain("Signed out");
    expect(html).toContain(`href="/sign-in?next=${encodeURIComponent("/admin/people")}"`);
  });

  test("a person who is not an admin gets 403 Admins only on an admin page", async () => {
    const res = await get("/admin/people", await browser({ isAdmin: false }));
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Only an admin can manage people.");
  });

  test("an admin signed in with an API key gets 403 on an admin form post, with nothing changed", async () => {
    const res = await post("/admin/people/invite", await browser({ isAdmin: true, withKey: true }), {
      csrf: formToken,
      email: "new@example.com",
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Sign in again for admin pages");
    expect(await db.select().from(db.tables.invitations)).toEqual([]);
  });

  test("a key session gets 403 on the own clients page, which admits any other session", async () => {
    expect((await get("/clients", await browser({ isAdmin: false, withKey: true }))).status).toBe(403);
    expect((await get("/clients", await browser({ isAdmin: false }))).status).toBe(200);
  });
});

describe("request context", () => {
  test("a page's audit entry carries the request id the response names and the client address", async () => {
    const res = await post("/sign-in/key", await browser(), { csrf: formToken, api_key: "not-a-key" });
    expect(res.status).toBe(401);
    // Written one by one (batch: false), but on PostgreSQL after the answer: wait for it.
    await audit.drain();
    const { auditEvents } = db.tables;
    const entry = first(
      await db
        .select({ requestId: auditEvents.requestId, ip: auditEvents.ip })
        .from(auditEvents)
        .where(eq(auditEvents.event, "sign_in_failed"))
        .orderBy(desc(auditEvents.id))
        .limit(1),
    );
    // app.handle has no socket, so the address is the one given to requests without one.
    expect(entry).toEqual({ requestId: res.headers.get("x-request-id"), ip: "unknown" });
  });

  test("a caller's plain X-Request-Id is the one every part of the request uses", async () => {
    const res = await app.handle(
      new Request(`${publicUrl}/sign-in/key`, {
        method: "POST",
        headers: {
          cookie: await browser(),
          origin: publicUrl,
          "content-type": "application/x-www-form-urlencoded",
          "x-request-id": "trace-42",
        },
        body: new URLSearchParams({ csrf: formToken, api_key: "not-a-key" }).toString(),
      }),
    );
    expect(res.headers.get("x-request-id")).toBe("trace-42");
    await audit.drain();
    const { auditEvents } = db.tables;
    expect((await db.select().from(auditEvents).where(eq(auditEvents.requestId, "trace-42"))).length).toBe(1);
  });
});
