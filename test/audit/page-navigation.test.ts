import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUser } from "../../src/accounts/users.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";

// Moving about the audit log over real HTTP: newer and older pages with the
// position, the detail cell, values that filter on a click, and the export link
// and its refusals.

const password = "correct horse battery staple";
const t0 = Math.floor(Date.parse("2026-05-01T12:00:00Z") / 1000);
let app: TestApp;
let admin: Browser;
let alice: Browser;

async function signIn(email: string, isAdmin: boolean) {
  const user = await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin,
    now: t0,
  });
  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  expect((await b.post("/sign-in", { csrf, email, password })).status).toBe(303);
  return { id: user.id, b };
}

beforeAll(async () => {
  app = await createTestApp({ listen: false });
  const a = await signIn("admin@example.com", true);
  const al = await signIn("alice@example.com", false);
  admin = a.b;
  alice = al.b;
  for (let i = 0; i < 120; i++)
    app.audit.record({ at: t0 + i, event: "tool_call", outcome: "ok", userId: a.id, tool: "paging__tool" });
  app.audit.record({
    at: t0 + 200,
    event: "tool_call",
    outcome: "error",
    userId: al.id,
    clientId: "client-claude",
    tool: "files__write",
    requestId: "req-alice-1",
    detail: { error: "<b>disk full</b>", arguments: { path: "/srv/a.csv" } },
  });
  app.audit.record({
    at: t0 + 201,
    event: "tool_call",
    outcome: "ok",
    userId: al.id,
    apiKeyId: "alicekey",
    tool: "files__read",
    requestId: "req-alice-2",
  });
  await app.audit.drain();
});
afterAll(() => app.close());

const idsOn = (html: string) => [...html.matchAll(/data-audit-id="(\d+)"/g)].map((m) => Number(m[1]));
const hrefOf = (html: string, id: string) =>
  new RegExp(`<a href="([^"]+)" id="${id}">`).exec(html)?.[1]?.replaceAll("&amp;", "&") ?? null;
const positionOf = (html: string) => /Entries [\d,]+–[\d,]+ of [\d,]+/.exec(html)?.[0] ?? null;
async function get(b: Browser, path: string) {
  const res = await b.get(path);
  return { status: res.status, html: await res.text() };
}
/** The <tr> of the entry with this request id. */
const rowWith = (html: string, requestId: string) =>
  new RegExp(`<tr data-audit-id="\\d+"(?:(?!</tr>)[\\s\\S])*?${requestId}[\\s\\S]*?</tr>`).exec(html)![0];

describe("pages", () => {
  test("the newest page says where it is and links older entries only", async () => {
    const { html } = await get(admin, "/admin/audit?tool=paging__tool");
    expect(idsOn(html).length).toBe(50);
    expect(positionOf(html)).toBe("Entries 1–50 of 120");
    expect(hrefOf(html, "newer")).toBeNull();
    expect(hrefOf(html, "older")).toMatch(/^\/admin\/audit\?tool=paging__tool&before=\d+$/);
  });

  test("Older, then Newer, comes back to the same entries", async () => {
    const first = await get(admin, "/admin/audit?tool=paging__tool");
    const second = await get(admin, hrefOf(first.html, "older")!);
    expect(positionOf(second.html)).toBe("Entries 51–100 of 120");
    expect(Math.max(...idsOn(second.html))).toBeLessThan(Math.min(...idsOn(first.html)));
    const newer = hrefOf(second.html, "newer")!;
    expect(newer).toMatch(/^\/admin\/audit\?tool=paging__tool&after=\d+$/);
    expect(idsOn((await get(admin, newer)).html)).toEqual(idsOn(first.html));
    const third = await get(admin, hrefOf(second.html, "older")!);
    expect(positionOf(third.html)).toBe("Entries 101–120 of 120");
    expect(hrefOf(third.html, "older")).toBeNull();
  });

  test("a newer page that reaches the newest entries is the newest page, full", async () => {
    const first = await get(admin, "/admin/audit?tool=paging__tool");
    const newest = Math.max(...idsOn(first.html));
    const { html } = await get(admin, `/admin/audit?tool=paging__tool&after=${newest - 10}`);
    expect(idsOn(html)).toEqual(idsOn(first.html));
  });
});

describe("the detail cell", () => {
  test("opens beneath a one-line summary to the whole JSON, indented and escaped", async () => {
    const row = rowWith((await get(admin, "/admin/audit")).html, "req-alice-1");
    expect(row).toContain(
      "<details><summary>error: &lt;b&gt;disk full&lt;/b&gt;, arguments.path: /srv/a.csv</summary><pre><code>{\n  &quot;error&quot;: &quot;&lt;b&gt;disk full&lt;/b&gt;&quot;,",
    );
    expect(row).not.toContain("<b>disk full</b>");
  });
});

describe("click to filter", () => {
  test("user, client, tool and request id link to the current filters plus theirs, from the newest page", async () => {
    const row = rowWith((await get(admin, "/admin/audit?outcome=error&before=999999")).html, "req-alice-1");
    const links = [...row.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]!.replaceAll("&amp;", "&"));
    expect(links).toEqual([
      "/admin/audit?user=alice%40example.com&outcome=error",
      "/admin/audit?client=client-claude&outcome=error",
      "/admin/audit?tool=files__write&outcome=error",
      "/admin/audit?request=req-alice-1&outcome=error",
    ]);
  });

  test("the request id filter finds that request's entries", async () => {
    const { status, html } = await get(admin, "/admin/audit?request=req-alice-2");
    expect(status).toBe(200);
    expect(idsOn(html).length).toBe(1);
    expect(html).toContain('name="request" value="req-alice-2"');
  });

  test("on /activity the links stay on /activity, and there is no user to click", async () => {
    const row = rowWith((await get(alice, "/activity")).html, "req-alice-2");
    const links = [...row.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]!);
    expect(links).toEqual(["/activity?client=alicekey", "/activity?tool=files__read", "/activity?request=req-alice-2"]);
  });
});

describe("the export", () => {
  test("links only the filters that could be read", async () => {
    const { status, html } = await get(admin, "/admin/audit?tool=files__write&event=nope&from=someday");
    expect(status).toBe(400);
    expect(html).toContain('href="/admin/audit.jsonl?tool=files__write"');
  });

  test("refuses a filter it cannot read with a JSON error naming it and why", async () => {
    const res = await admin.get("/admin/audit.jsonl?tool=x&event=nope&to=2026-13-45");
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.error).toBe("invalid_filter");
    expect(body.invalid_filters).toEqual([
      { filter: "event", value: "nope", reason: 'Unknown event "nope".' },
      {
        filter: "to",
        value: "2026-13-45",
        reason: '"to" must be a date such as 2026-05-01 or 2026-05-01T13:45 (UTC).',
      },
    ]);
    expect(body.error_description).toContain('Unknown event "nope".');
  });

  test("a non-admin's refusal is JSON too", async () => {
    const res = await alice.get("/admin/audit.jsonl");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe("forbidden");
  });
});

describe("on a phone", () => {
  test("the audit table stacks, every cell but the event labelled", async () => {
    const { html } = await get(admin, "/admin/audit");
    expect(html).toContain('<table id="audit" class="stack">');
    const cells = [...html.slice(html.indexOf("<tbody>")).matchAll(/<td( [^>]*)?>/g)].map((m) => m[0]);
    expect(cells.length).toBeGreaterThan(0);
    expect(cells.filter((td) => !td.includes("data-label=") && td !== '<td class="name">')).toEqual([]);
  });
});
