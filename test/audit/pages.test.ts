import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUser } from "../../src/accounts/users.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";

// /admin/audit, /admin/audit.jsonl and /activity over real HTTP, on entries
// recorded through the app's own recorder.

const password = "correct horse battery staple";
const day = 86400;
const t0 = Math.floor(Date.parse("2026-05-01T12:00:00Z") / 1000);
let app: TestApp;
let admin: { id: string; b: Browser };
let alice: { id: string; b: Browser };
let bob: { id: string; b: Browser };

async function signedInUser(email: string, isAdmin: boolean) {
  const user = await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin,
    now: Math.floor(Date.now() / 1000),
  });
  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  expect((await b.post("/sign-in", { csrf, email, password })).status).toBe(303);
  return { id: user.id, b };
}

beforeAll(async () => {
  app = await createTestApp({ listen: false });
  admin = await signedInUser("admin@example.com", true);
  alice = await signedInUser("alice@example.com", false);
  bob = await signedInUser("bob@example.com", false);
  const record = app.audit.record;
  record({
    at: t0,
    event: "tool_call",
    outcome: "ok",
    userId: alice.id,
    apiKeyId: "alicekey",
    tool: "files__read",
    upstream: "files",
    durationMs: 12,
    requestId: "req-alice-1",
  });
  record({
    at: t0 + day,
    event: "tool_call",
    outcome: "error",
    userId: alice.id,
    clientId: "client-claude",
    grantId: "g1",
    tool: "files__write",
    upstream: "files",
    durationMs: 30,
    requestId: "req-alice-2",
    detail: { error: "<b>disk full</b>" },
  });
  record({
    at: t0 + 2 * day,
    event: "tool_call",
    outcome: "denied",
    userId: bob.id,
    apiKeyId: "bobkey",
    tool: "files__write",
    requestId: "req-bob-1",
  });
  record({
    at: t0 + 3 * day,
    event: "sign_in_failed",
    outcome: "denied",
    detail: { method: "password", email: "mallory@example.com" },
  });
  await app.audit.drain();
});
afterAll(() => app.close());

const idsOn = (html: string) => [...html.matchAll(/data-audit-id="(\d+)"/g)].map((m) => Number(m[1]));
const requestIdsOn = (html: string) => [...html.matchAll(/<code>(req-[a-z]+-\d)<\/code>/g)].map((m) => m[1]!);

async function adminPage(query = "") {
  const res = await admin.b.get(`/admin/audit${query}`);
  return { res, html: await res.text() };
}

describe("/admin/audit", () => {
  test("signed out redirects to sign-in, coming back to the same filters", async () => {
    const res = await new Browser(app.url, app.send).get("/admin/audit?tool=x");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/sign-in?next=${encodeURIComponent("/admin/audit?tool=x")}`);
  });

  test("a non-admin gets 403", async () => {
    expect((await alice.b.get("/admin/audit")).status).toBe(403);
  });

  test("an admin sees every entry, newest first, with no-store", async () => {
    const { res, html } = await adminPage("?from=2026-05-01");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(requestIdsOn(html)).toEqual(["req-bob-1", "req-alice-2", "req-alice-1"]);
    expect(html).toContain("mallory@example.com");
  });

  test("detail is escaped", async () => {
    const { html } = await adminPage("?outcome=error");
    expect(html).toContain("&lt;b&gt;disk full&lt;/b&gt;");
    expect(html).not.toContain("<b>disk full</b>");
  });

  test("filters by user email", async () => {
    expect(requestIdsOn((await adminPage("?user=ALICE@example.com")).html)).toEqual(["req-alice-2", "req-alice-1"]);
  });

  test("the user filter finds failed sign-ins by the email tried", async () => {
    const { html } = await adminPage("?user=mallory@example.com");
    expect(idsOn(html).length).toBe(1);
    expect(html).toContain('data-event="sign_in_failed"');
  });

  test("filters by client or key id", async () => {
    expect(requestIdsOn((await adminPage("?client=client-claude")).html)).toEqual(["req-alice-2"]);
    expect(requestIdsOn((await adminPage("?client=bobkey")).html)).toEqual(["req-bob-1"]);
  });

  test("filters by tool and outcome together", async () => {
    expect(requestIdsOn((await adminPage("?tool=files__write&outcome=denied")).html)).toEqual(["req-bob-1"]);
  });

  test("filters by event", async () => {
    const { html } = await adminPage("?event=sign_in_failed");
    expect(requestIdsOn(html)).toEqual([]);
    expect(idsOn(html).length).toBe(1);
  });

  test("filters by time range, both ends inclusive", async () => {
    expect(requestIdsOn((await adminPage("?from=2026-05-02&to=2026-05-03")).html)).toEqual([
      "req-bob-1",
      "req-alice-2",
    ]);
    expect(requestIdsOn((await adminPage("?to=2026-05-01T12:00")).html)).toEqual(["req-alice-1"]);
  });

  test("a bad date or outcome is a 400 page saying why, with no rows", async () => {
    const { res, html } = await adminPage("?from=yesterday&outcome=maybe");
    expect(res.status).toBe(400);
    expect(html).toContain("Unknown outcome");
    expect(html).toContain("must be a date");
    expect(idsOn(html)).toEqual([]);
  });

  test("the page links the export with the same filters", async () => {
    expect((await adminPage("?tool=files__write")).html).toContain('href="/admin/audit.jsonl?tool=files__write"');
  });

  test("pages 50 at a time with a link to older entries", async () => {
    for (let i = 0; i < 55; i++)
      app.audit.record({
        at: t0 - day,
        event: "tool_call",
        outcome: "ok",
        userId: bob.id,
        tool: "paging__tool",
        requestId: `req-page-${i}`,
      });
    await app.audit.drain();
    const first = await adminPage("?tool=paging__tool");
    expect(idsOn(first.html).length).toBe(50);
    const older = /<a href="([^"]+)" id="older">/.exec(first.html)![1]!.replaceAll("&amp;", "&");
    expect(older).toContain("tool=paging__tool");
    const second = await admin.b.get(older);
    const secondIds = idsOn(await second.text());
    expect(secondIds.length).toBe(5);
    expect(Math.max(...secondIds)).toBeLessThan(Math.min(...idsOn(first.html)));
  });

  test("the nav links the audit log for admins only, and activity for everyone", async () => {
    const adminHtml = await (await admin.b.get("/keys")).text();
    const aliceHtml = await (await alice.b.get("/keys")).text();
    expect(adminHtml).toContain('href="/admin/audit"');
    expect(aliceHtml).not.toContain('href="/admin/audit"');
    expect(aliceHtml).toContain('href="/activity"');
  });
});

describe("/admin/audit.jsonl", () => {
  async function exportLines(query = "") {
    const res = await admin.b.get(`/admin/audit.jsonl${query}`);
    const text = await res.text();
    return {
      res,
      lines: text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>),
    };
  }

  test("is an attachment of JSON lines, one per entry, with the columns and the detail parsed", async () => {
    const { res, lines } = await exportLines("?user=alice@example.com&event=tool_call");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(
      /^attachment; filename="gatehouse-audit-\d{4}-\d{2}-\d{2}\.jsonl"$/,
    );
    expect(lines.map((l) => l.request_id)).toEqual(["req-alice-2", "req-alice-1"]);
    expect(lines[0]).toMatchObject({
      event: "tool_call",
      outcome: "error",
      email: "alice@example.com",
      client_id: "client-claude",
      tool: "files__write",
      upstream: "files",
      duration_ms: 30,
      time: "2026-05-02T12:00:00.000Z",
      detail: { error: "<b>disk full</b>" },
    });
  });

  test("respects the filters", async () => {
    const { lines } = await exportLines("?outcome=denied&tool=files__write");
    expect(lines.map((l) => l.request_id)).toEqual(["req-bob-1"]);
  });

  test("pages through a log larger than one read", async () => {
    for (let i = 0; i < 1200; i++)
      app.audit.record({ at: t0 - 2 * day, event: "tool_call", outcome: "ok", userId: bob.id, tool: "bulk__tool" });
    await app.audit.drain();
    const { lines } = await exportLines("?tool=bulk__tool");
    expect(lines.length).toBe(1200);
    expect(new Set(lines.map((l) => l.id)).size).toBe(1200);
  });

  test("a non-admin gets 403, signed out 401", async () => {
    expect((await alice.b.get("/admin/audit.jsonl")).status).toBe(403);
    expect((await new Browser(app.url, app.send).get("/admin/audit.jsonl")).status).toBe(401);
  });

  test("a bad filter is 400", async () => {
    expect((await admin.b.get("/admin/audit.jsonl?event=nope")).status).toBe(400);
  });
});

describe("/activity", () => {
  test("a user sees their own entries only", async () => {
    const res = await alice.b.get("/activity");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(requestIdsOn(html).filter((id) => id.startsWith("req-alice") || id.startsWith("req-bob"))).toEqual([
      "req-alice-2",
      "req-alice-1",
    ]);
    expect(html).not.toContain("mallory@example.com");
  });

  test("a user filter in the query is ignored: still only their own", async () => {
    const html = await (await alice.b.get("/activity?user=bob@example.com")).text();
    expect(requestIdsOn(html)).not.toContain("req-bob-1");
    expect(html).not.toContain('name="user"');
  });

  test("filters apply within their own entries", async () => {
    expect(requestIdsOn(await (await alice.b.get("/activity?outcome=error")).text())).toEqual(["req-alice-2"]);
    expect(requestIdsOn(await (await bob.b.get("/activity?tool=files__write")).text())).toEqual(["req-bob-1"]);
  });

  test("signed out redirects to sign-in", async () => {
    const res = await new Browser(app.url, app.send).get("/activity");
    expect(res.status).toBe(303);
  });
});
