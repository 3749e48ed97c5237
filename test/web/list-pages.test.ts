import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServiceAccount } from "../../src/accounts/service-accounts.ts";
import { createUser } from "../../src/accounts/users.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { registerManualClient } from "../../src/oauth/registration.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";

// Sorting and searching the long lists over real HTTP: people, clients, keys, service accounts.

const password = "correct horse battery staple";
const t0 = Math.floor(Date.parse("2026-05-01T12:00:00Z") / 1000);
let app: TestApp;
let admin: Browser;
let adminId: string;

beforeAll(async () => {
  app = await createTestApp({ listen: false });
  const user = (email: string, isAdmin: boolean, at: number) =>
    createUser(app.db, { email, password, passwordCost: app.config.passwordHashCost, isAdmin, now: at });
  adminId = (await user("admin@example.com", true, t0)).id;
  await user("carol@example.com", false, t0 + 1);
  await user("bob@example.com", false, t0 + 2);
  admin = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await admin.get("/sign-in")).text());
  expect((await admin.post("/sign-in", { csrf, email: "admin@example.com", password })).status).toBe(303);
  for (const [i, name] of ["zeta", "Alpha", "mid"].entries()) {
    await registerManualClient(app.db, {
      name,
      redirectUris: [`https://${name.toLowerCase()}.example/cb`],
      method: "none",
      ownerUserId: null,
      now: t0 + i,
    });
    await createApiKey(app.db, {
      userId: adminId,
      name: `key ${name}`,
      access: "read",
      expiresInSeconds: null,
      now: t0 + i,
    });
    await createServiceAccount(app.db, {
      name: `sa-${name.toLowerCase()}`,
      access: "read",
      tools: null,
      resource: app.config.publicUrl,
      now: t0 + i,
    });
  }
});
afterAll(() => app.close());

async function page(path: string) {
  const res = await admin.get(path);
  expect(res.status).toBe(200);
  return res.text();
}
/** The text of the first cell of each body row of the table with this id. */
function firstCells(html: string, tableId: string): string[] {
  const table = new RegExp(`<table id="${tableId}"[\\s\\S]*?</table>`).exec(html)![0];
  const body = table.slice(table.indexOf("<tbody>"));
  return [...body.matchAll(/<tr[^>]*>\s*<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, "").trim());
}
/** The <th> that carries aria-sort, and its value. */
const sortedHeader = (html: string) => /<th aria-sort="(\w+)"><a href="([^"]+)"[^>]*><span>([^<]+)<\/span>/.exec(html);

describe("People", () => {
  test("sorts by the asked column and marks its header with aria-sort", async () => {
    const html = await page("/admin/people?sort=email&dir=desc");
    expect(firstCells(html, "people").map((c) => c.replace(" (you)", ""))).toEqual([
      "carol@example.com",
      "bob@example.com",
      "admin@example.com",
    ]);
    const [, aria, href, label] = sortedHeader(html)!;
    expect([aria, label]).toEqual(["descending", "Email"]);
    // Clicking the sorted header again turns the order round.
    expect(href!.replaceAll("&amp;", "&")).toBe("/admin/people?sort=email&dir=asc");
  });

  test("an unknown sort falls back to the default order, oldest first", async () => {
    const html = await page("/admin/people?sort=password_hash&dir=sideways");
    expect(firstCells(html, "people")[0]).toContain("admin@example.com");
    expect(sortedHeader(html)!.slice(1, 4)).toEqual(["ascending", "/admin/people?sort=created&dir=desc", "Created"]);
  });

  test("the search box is a GET form, and q keeps only the matching people", async () => {
    const html = await page("/admin/people?q=BOB");
    expect(html).toMatch(/<form method="get" action="\/admin\/people" class="search">/);
    expect(html).toContain('name="q" value="BOB"');
    expect(firstCells(html, "people")).toEqual(["bob@example.com"]);
    // Sorting keeps the search.
    expect(html).toContain('href="/admin/people?sort=email&dir=asc&q=BOB"');
  });

  test("a search that finds nobody says so, escaped", async () => {
    const html = await page(`/admin/people?q=${encodeURIComponent("<i>x</i>")}`);
    expect(html).toContain("Nothing matches &quot;&lt;i&gt;x&lt;/i&gt;&quot;.");
    expect(html).not.toContain('<table id="people"');
  });
});

describe("All clients", () => {
  test("sorts by name, and searches names, ids and redirect URIs", async () => {
    expect(firstCells(await page("/admin/clients?sort=name&dir=asc"), "clients")).toEqual(["Alpha", "mid", "zeta"]);
    expect(firstCells(await page("/admin/clients"), "clients")).toEqual(["mid", "Alpha", "zeta"]);
    expect(firstCells(await page("/admin/clients?q=zeta.example"), "clients")).toEqual(["zeta"]);
  });
});

describe("API keys", () => {
  test("sorts by name either way and searches names", async () => {
    expect(firstCells(await page("/keys?sort=name&dir=asc"), "keys")).toEqual(["key Alpha", "key mid", "key zeta"]);
    expect(firstCells(await page("/keys?sort=name&dir=desc"), "keys")).toEqual(["key zeta", "key mid", "key Alpha"]);
    expect(firstCells(await page("/keys?q=mid"), "keys")).toEqual(["key mid"]);
  });
});

describe("Service accounts", () => {
  test("sorts by name, created, and searches", async () => {
    expect(firstCells(await page("/admin/service-accounts"), "service-accounts")).toEqual([
      "sa-alpha",
      "sa-mid",
      "sa-zeta",
    ]);
    expect(firstCells(await page("/admin/service-accounts?sort=created&dir=desc"), "service-accounts")).toEqual([
      "sa-mid",
      "sa-alpha",
      "sa-zeta",
    ]);
    expect(firstCells(await page("/admin/service-accounts?q=ZETA"), "service-accounts")).toEqual(["sa-zeta"]);
  });
});

describe("on a phone", () => {
  /** Each body cell of the table with this id that has neither a data-label nor the name or actions class. */
  function unlabelledCells(html: string, tableId: string): string[] {
    const table = new RegExp(`<table id="${tableId}" class="stack"[\\s\\S]*?</table>`).exec(html);
    expect(table).not.toBeNull();
    const body = table![0].slice(table![0].indexOf("<tbody>"));
    return [...body.matchAll(/<td( [^>]*)?>/g)]
      .map((m) => m[0])
      .filter((td) => !/data-label=|class="[^"]*\b(name|actions)\b/.test(td));
  }

  test("the keys, people and service-account tables stack, every cell labelled", async () => {
    expect(unlabelledCells(await page("/keys"), "keys")).toEqual([]);
    expect(unlabelledCells(await page("/admin/people"), "people")).toEqual([]);
    expect(unlabelledCells(await page("/admin/service-accounts"), "service-accounts")).toEqual([]);
  });
});
