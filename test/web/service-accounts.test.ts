import { confirmationForm, confirmVia } from "../support/confirm-page.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { first } from "../../src/db/transaction.ts";
import { eq } from "drizzle-orm";
import { createUser } from "../../src/accounts/users.ts";
import { hashSecret } from "../../src/security/tokens.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { nowSeconds } from "../support/clock.ts";

// Settings → Service accounts over HTTP: who may use it, creating one (the
// secret shown once, stored hashed), refusals, and disable, enable, new
// secret and delete, each checked in the database.

const password = "correct horse battery staple";
const path = "/admin/service-accounts";
const secretPattern = /gate_cs_[a-z2-7]{16}_[a-z2-7]{52}/;
const clientIdPattern = /gate_client_[a-z2-7]{16}/;
const errorOf = (html: string) => /<p class="error" role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1] ?? "";

let app: TestApp;
let admin: Browser;
let member: Browser;

async function signedIn(email: string, isAdmin: boolean): Promise<Browser> {
  await createUser(app.db, { email, password, passwordCost: app.config.passwordHashCost, isAdmin, now: nowSeconds() });
  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  expect((await b.post("/sign-in", { csrf, email, password })).status).toBe(303);
  return b;
}

beforeAll(async () => {
  app = await createTestApp({ listen: false });
  admin = await signedIn("admin@example.com", true);
  member = await signedIn("member@example.com", false);
});
afterAll(() => app.close());

const csrfOf = async (b: Browser) => Browser.csrfOf(await (await b.get("/keys")).text());
async function accountRow(name: string) {
  const { users } = app.db.tables;
  return first(await app.db.select().from(users).where(eq(users.name, name)).limit(1));
}

async function create(form: Record<string, string | undefined>, b = admin) {
  const fields = Object.fromEntries(
    Object.entries({ csrf: await csrfOf(b), access: "read", ...form }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  const res = await b.post(path, fields);
  return { res, html: await res.text() };
}

async function tokenStatus(clientId: string, secret: string) {
  const res = await app.request("/oauth/token", {
    method: "POST",
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: secret }),
  });
  return res.status;
}

describe("access", () => {
  test("signed out is redirected to sign-in", async () => {
    const res = await new Browser(app.url, app.send).get(path);
    expect([res.status, res.headers.get("location")]).toEqual([303, `/sign-in?next=${encodeURIComponent(path)}`]);
  });

  test("a non-admin gets 403 and cannot create one", async () => {
    expect((await member.get(path)).status).toBe(403);
    expect((await create({ name: "sneaky" }, member)).res.status).toBe(403);
    expect(await accountRow("sneaky")).toBeNull();
  });

  test("a form without the CSRF token is 403 and creates nothing", async () => {
    const res = await admin.post(path, { csrf: "wrong", name: "nocsrf", access: "read" });
    expect(res.status).toBe(403);
    expect(await accountRow("nocsrf")).toBeNull();
  });

  test("admins see it in the header", async () => {
    expect(await (await admin.get("/keys")).text()).toContain(`href="${path}"`);
    expect(await (await member.get("/keys")).text()).not.toContain(`href="${path}"`);
  });
});

describe("creating", () => {
  test("shows the client id and secret once, stores only a hash, and the secret works", async () => {
    const { oauthClients, oauthGrants } = app.db.tables;
    const { res, html } = await create({ name: "ci-deploy", access: "chosen", tool: "gatehouse__revoke_connection" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const secret = secretPattern.exec(html)![0];
    const clientId = clientIdPattern.exec(html)![0];
    const row = (await accountRow("ci-deploy"))!;
    expect([row.kind, row.email, row.passwordHash, row.isAdmin]).toEqual([
      "service",
      "ci-deploy@service.invalid",
      null,
      false,
    ]);
    const client = first(await app.db.select().from(oauthClients).where(eq(oauthClients.id, clientId)).limit(1))!;
    expect([client.kind, client.secretHash, client.redirectUris]).toEqual(["service", hashSecret(secret), "[]"]);
    const grant = first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.userId, row.id)).limit(1))!;
    expect([grant.clientId, grant.scope, grant.tools]).toEqual([
      clientId,
      "mcp:read mcp:write",
      ["gatehouse__revoke_connection"],
    ]);
    expect(await tokenStatus(clientId, secret)).toBe(200);
    const list = await (await admin.get(path)).text();
    expect(list).toContain(`data-account-id="${row.id}"`);
    expect(list).not.toContain(secret);
  });

  test("is in the audit log", async () => {
    const { auditEvents } = app.db.tables;
    await create({ name: "audited" });
    await app.audit.drain();
    const id = (await accountRow("audited"))!.id;
    const events = (await app.db.select().from(auditEvents).where(eq(auditEvents.userId, id))).map((e) => e.event);
    expect(events).toContain("service_account_created");
  });

  test.each([
    ["a name with spaces", { name: "CI deploy" }],
    ["an empty name", { name: "" }],
    ["no access level", { name: "noaccess", access: undefined }],
    ["only ticked tools with none ticked", { name: "notools", access: "chosen" }],
    ["only ticked tools with an unknown tool", { name: "unknowntool", access: "chosen", tool: "nope__delete" }],
  ])("%s is a 400 with the form's error and creates nothing", async (_, form) => {
    const { users } = app.db.tables;
    const { res, html } = await create(form);
    expect(res.status).toBe(400);
    expect(errorOf(html)).not.toBe("");
    expect(await app.db.select().from(users).where(eq(users.name, form.name))).toEqual([]);
  });

  test("a name already taken is a 400", async () => {
    const { users } = app.db.tables;
    await create({ name: "twice" });
    const { res, html } = await create({ name: "twice" });
    expect(res.status).toBe(400);
    expect(errorOf(html)).toContain("already exists");
    expect((await app.db.select().from(users).where(eq(users.name, "twice"))).length).toBe(1);
  });

  test("service accounts are not on the People or Clients pages", async () => {
    const { oauthGrants } = app.db.tables;
    await create({ name: "hidden" });
    const row = (await accountRow("hidden"))!;
    expect(await (await admin.get("/admin/people")).text()).not.toContain(`data-user-id="${row.id}"`);
    const grant = first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.userId, row.id)).limit(1))!;
    expect(await (await admin.get("/admin/clients")).text()).not.toContain(grant.clientId);
    const deleted = await admin.post("/admin/clients/delete", { csrf: await csrfOf(admin), client_id: grant.clientId });
    expect(deleted.status).toBe(404);
  });

  test("a person cannot take a service account's email", async () => {
    const res = await admin.post("/admin/people/invite", {
      csrf: await csrfOf(admin),
      email: "ci-deploy@service.invalid",
    });
    expect(res.status).toBe(400);
  });
});

describe("managing", () => {
  async function fresh(name: string) {
    const { html } = await create({ name });
    return {
      id: (await accountRow(name))!.id,
      clientId: clientIdPattern.exec(html)![0],
      secret: secretPattern.exec(html)![0],
    };
  }
  const act = async (id: string, action: string) =>
    admin.post(`${path}/${id}/${action}`, { csrf: await csrfOf(admin) });

  test("disable stops its secret; enable brings it back", async () => {
    const a = await fresh("toggled");
    expect((await act(a.id, "disable")).status).toBe(303);
    expect((await accountRow("toggled"))!.disabledAt).not.toBeNull();
    expect(await tokenStatus(a.clientId, a.secret)).toBe(400);
    expect((await act(a.id, "enable")).status).toBe(303);
    expect(await tokenStatus(a.clientId, a.secret)).toBe(200);
  });

  test("a new secret is shown once and the old one stops", async () => {
    const a = await fresh("renewed");
    const res = await confirmVia(admin, `${path}/${a.id}/secret`);
    const secret = secretPattern.exec(await res.text())![0];
    expect(await tokenStatus(a.clientId, a.secret)).toBe(401);
    expect(await tokenStatus(a.clientId, secret)).toBe(200);
  });

  test("the new-secret form sent twice makes no second secret: 409, and the one shown keeps working", async () => {
    const a = await fresh("resent");
    const { action, fields } = confirmationForm(await (await admin.get(`${path}/${a.id}/secret`)).text());
    const first = await admin.post(action, fields);
    const shown = secretPattern.exec(await first.text())![0];
    const again = await admin.post(action, fields);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("No new secret made");
    expect(await tokenStatus(a.clientId, shown)).toBe(200);
  });

  test("a new-secret post that names no secret replaces nothing (409)", async () => {
    const a = await fresh("unnamed");
    expect((await act(a.id, "secret")).status).toBe(409);
    expect(await tokenStatus(a.clientId, a.secret)).toBe(200);
  });

  test("delete removes the account and its client", async () => {
    const { oauthClients } = app.db.tables;
    const a = await fresh("deleted");
    expect((await act(a.id, "delete")).status).toBe(303);
    expect(await accountRow("deleted")).toBeNull();
    expect(await app.db.select().from(oauthClients).where(eq(oauthClients.id, a.clientId))).toEqual([]);
    expect(await tokenStatus(a.clientId, a.secret)).toBe(401);
  });

  test("acting on a person's id through this page is a 404", async () => {
    const { users } = app.db.tables;
    const person = first(await app.db.select().from(users).where(eq(users.email, "member@example.com")).limit(1))!;
    expect((await act(person.id, "disable")).status).toBe(404);
    expect((await act(person.id, "delete")).status).toBe(404);
    expect(first(await app.db.select().from(users).where(eq(users.id, person.id)).limit(1))?.disabledAt).toBeNull();
  });
});

describe("asking first, then saying what happened (issue 14)", () => {
  const flashOf = (html: string) => /<p class="flash" role="status">([^<]*)<\/p>/.exec(html)?.[1] ?? null;
  async function fresh(name: string) {
    const { html } = await create({ name });
    return {
      id: (await accountRow(name))!.id,
      clientId: clientIdPattern.exec(html)![0],
      secret: secretPattern.exec(html)![0],
    };
  }
  const act = async (id: string, action: string, b = admin) =>
    b.post(`${path}/${id}/${action}`, { csrf: await csrfOf(b) });
  /** The next GET of the list shows the message once; the one after shows none. */
  const flashedOnce = async () => {
    const first = flashOf(await (await admin.get(path)).text());
    expect(flashOf(await (await admin.get(path)).text())).toBeNull();
    return first;
  };

  test.each([
    ["secret", "<h1>New secret for “ask-secret”?</h1>", "CI using it gets 401 (invalid_client)"],
    ["disable", "<h1>Disable “ask-disable”?</h1>", "It gets no new tokens"],
    ["delete", "<h1>Delete “ask-delete”?</h1>", "Its audit entries are kept for the audit retention period"],
  ])("%s asks on its own page, naming the account and what stops, and changes nothing", async (action, h1, said) => {
    const a = await fresh(`ask-${action}`);
    const res = await admin.get(`${path}/${a.id}/${action}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(h1);
    expect(html).toContain(said);
    expect(html).toContain(`<form method="post" action="${path}/${a.id}/${action}"`);
    expect(html).toContain(`<a class="button secondary" href="${path}">Cancel</a>`);
    expect((await accountRow(`ask-${action}`))!.disabledAt).toBeNull();
    expect(await tokenStatus(a.clientId, a.secret)).toBe(200);
    const list = await (await admin.get(path)).text();
    expect(list).toContain(`href="${path}/${a.id}/${action}"`);
    expect(list).not.toContain(`action="${path}/${a.id}/${action}"`);
  });

  test("an unknown id or a person's gets a 404 confirmation page; a member gets 403, as on the posts", async () => {
    const { users } = app.db.tables;
    const a = await fresh("ask-refused");
    const person = first(await app.db.select().from(users).where(eq(users.email, "member@example.com")).limit(1))!;
    for (const action of ["secret", "disable", "delete"]) {
      for (const id of ["nobody", person.id]) {
        const res = await admin.get(`${path}/${id}/${action}`);
        expect(res.status).toBe(404);
        expect(await res.text()).toContain("No such service account");
      }
      expect((await member.get(`${path}/${a.id}/${action}`)).status).toBe(403);
      expect((await act(a.id, action, member)).status).toBe(403);
    }
    expect(await tokenStatus(a.clientId, a.secret)).toBe(200);
  });

  test("Disable and Enable redirect to the list, which says what happened once", async () => {
    const a = await fresh("reported-toggle");
    const off = await act(a.id, "disable");
    expect([off.status, off.headers.get("location")]).toEqual([303, path]);
    expect(await flashedOnce()).toBe(
      "Disabled “reported-toggle”: it gets no new tokens, and the ones it has stopped working.",
    );
    const on = await act(a.id, "enable");
    expect([on.status, on.headers.get("location")]).toEqual([303, path]);
    expect(await flashedOnce()).toBe("Enabled “reported-toggle”: it gets tokens with its secret again.");
  });

  test("Delete redirects to the list, which says what happened once", async () => {
    const a = await fresh("reported-delete");
    const res = await act(a.id, "delete");
    expect([res.status, res.headers.get("location")]).toEqual([303, path]);
    expect(await flashedOnce()).toBe("Deleted “reported-delete”: its secret and tokens no longer work.");
  });

  test("a new or first secret is the POST's answer, shown once, with a status line", async () => {
    const { res, html } = await create({ name: "status-line" });
    expect(res.status).toBe(200);
    expect(flashOf(html)).toBe("Created service account “status-line”.");
    const renewed = await confirmVia(admin, `${path}/${(await accountRow("status-line"))!.id}/secret`);
    expect(renewed.status).toBe(200);
    const page = await renewed.text();
    expect(secretPattern.test(page)).toBe(true);
    expect(flashOf(page)).toBe("Made a new secret for “status-line”: the old one has stopped working.");
  });
});
