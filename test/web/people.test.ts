import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { createServiceAccount } from "../../src/accounts/service-accounts.ts";
import { createUser } from "../../src/accounts/users.ts";
import { first } from "../../src/db/transaction.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { advanceClock, nowSeconds } from "../support/clock.ts";

const password = "correct horse battery staple";
const linkPattern = /http:\/\/127\.0\.0\.1:\d+\/invite\/gate_inv_[a-z2-7]{16}_[a-z2-7]{52}/;
const errorOf = (html: string) => /<p class="error" role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1] ?? "";
const flashOf = (html: string) => /<p class="flash" role="status">([^<]*)<\/p>/.exec(html)?.[1] ?? null;

let app: TestApp;
let admin: { id: string; b: Browser };
let member: { id: string; b: Browser };
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  admin = await signedInUser("admin@example.com", true);
  member = await signedInUser("member@example.com", false);
});
afterAll(() => app.close());
afterEach(() => setSystemTime());

async function signIn(email: string, pw = password) {
  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  const res = await b.post("/sign-in", { csrf, email, password: pw });
  return { b, res };
}

async function signedInUser(email: string, isAdmin: boolean) {
  const user = await createUser(app.db, {
    email,
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin,
    now: nowSeconds(),
  });
  const { b, res } = await signIn(email);
  expect(res.status).toBe(303);
  return { id: user.id, b };
}

const csrfOf = async (b: Browser) => Browser.csrfOf(await (await b.get("/keys")).text());
async function userRow(email: string) {
  const { users } = app.db.tables;
  return first(await app.db.select().from(users).where(eq(users.email, email)).limit(1));
}
async function invitationRows(email: string) {
  const { invitations } = app.db.tables;
  return await app.db.select().from(invitations).where(eq(invitations.email, email));
}

async function invite(email: string, opts: { admin?: boolean; b?: Browser } = {}) {
  const b = opts.b ?? admin.b;
  const res = await b.post("/admin/people/invite", {
    csrf: await csrfOf(b),
    email,
    ...(opts.admin && { admin: "on" }),
  });
  const html = await res.text();
  return { res, html, link: linkPattern.exec(html)?.[0] ?? null };
}

/** Opens an invitation link in a fresh browser and sets a password there. */
async function accept(link: string, pw = password) {
  const b = new Browser(app.url, app.send);
  const page = await b.get(link);
  const html = await page.text();
  if (page.status !== 200) return { b, page, res: null };
  const res = await b.post(new URL(link).pathname, { csrf: Browser.csrfOf(html), password: pw });
  return { b, page, res };
}

describe("access", () => {
  test("signed out is redirected to sign-in with next", async () => {
    const res = await new Browser(app.url, app.send).get("/admin/people");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/sign-in?next=${encodeURIComponent("/admin/people")}`);
  });

  test("a non-admin gets 403 on the page", async () => {
    expect((await member.b.get("/admin/people")).status).toBe(403);
  });

  test("a non-admin's invitation is 403 and stores nothing", async () => {
    const { res } = await invite("sneaky@example.com", { b: member.b });
    expect(res.status).toBe(403);
    expect(await invitationRows("sneaky@example.com")).toEqual([]);
  });

  test("a non-admin cannot disable someone", async () => {
    const res = await member.b.post(`/admin/people/${admin.id}/disable`, { csrf: await csrfOf(member.b) });
    expect(res.status).toBe(403);
    expect((await userRow("admin@example.com"))?.disabledAt).toBeNull();
  });

  test("a form without the CSRF token is refused with 403", async () => {
    const res = await admin.b.post("/admin/people/invite", { csrf: "wrong", email: "nocsrf@example.com" });
    expect(res.status).toBe(403);
    expect(await invitationRows("nocsrf@example.com")).toEqual([]);
  });

  test("a form from another origin is refused with 403", async () => {
    const res = await admin.b.post(
      "/admin/people/invite",
      { csrf: await csrfOf(admin.b), email: "cross@example.com" },
      { origin: "https://evil.example" },
    );
    expect(res.status).toBe(403);
    expect(await invitationRows("cross@example.com")).toEqual([]);
  });

  test("the header links to People for admins only", async () => {
    expect(await (await admin.b.get("/keys")).text()).toContain('href="/admin/people"');
    expect(await (await member.b.get("/keys")).text()).not.toContain('href="/admin/people"');
  });

  test("the page lists people and is sent with Cache-Control: no-store", async () => {
    const res = await admin.b.get("/admin/people");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain(`data-user-id="${admin.id}"`);
    expect(html).toContain(`data-user-id="${member.id}"`);
  });
});

describe("inviting", () => {
  test("invite, accept, then sign in with the new password", async () => {
    const { res, html, link } = await invite("new@example.com");
    expect(res.status).toBe(200);
    expect(link).not.toBeNull();
    expect(html.split(link!).length - 1).toBe(1);
    const secret = link!.split("_").at(-1)!;
    const [row] = await invitationRows("new@example.com");
    expect(row!.secretHash).not.toContain(secret);
    expect(row!.createdBy).toBe(admin.id);
    expect(row!.expiresAt - row!.createdAt).toBe(7 * 86400);

    const accepted = await accept(link!);
    expect(accepted.page.status).toBe(200);
    expect(accepted.page.headers.get("cache-control")).toBe("no-store");
    expect(accepted.res!.status).toBe(303);
    expect(accepted.res!.headers.get("location")).toBe("/keys");
    const user = (await userRow("new@example.com"))!;
    expect(user.isAdmin).toBe(false);
    expect((await invitationRows("new@example.com"))[0]!.usedAt).toBeNumber();
    expect((await invitationRows("new@example.com"))[0]!.userId).toBe(user.id);
    expect((await accepted.b.get("/keys")).status).toBe(200);

    const again = await signIn("new@example.com");
    expect(again.res.status).toBe(303);
    expect((await again.b.get("/keys")).status).toBe(200);
  });

  test("an admin invitation makes an admin", async () => {
    const { link } = await invite("newadmin@example.com", { admin: true });
    const { res, b } = await accept(link!);
    expect(res!.status).toBe(303);
    expect((await userRow("newadmin@example.com"))?.isAdmin).toBe(true);
    expect((await b.get("/admin/people")).status).toBe(200);
  });

  test("the admin page no longer shows the link after it was created", async () => {
    const { link } = await invite("shown-once@example.com");
    const html = await (await admin.b.get("/admin/people")).text();
    expect(html).toContain("shown-once@example.com");
    expect(html).not.toContain(link!.split("/invite/")[1]!);
  });

  test("a link works once: the second account creation is refused", async () => {
    const { users } = app.db.tables;
    const { link } = await invite("once@example.com");
    const first = await accept(link!);
    expect(first.res!.status).toBe(303);
    const second = await new Browser(app.url, app.send).get(link!);
    expect(second.status).toBe(404);
    expect(await second.text()).toContain("Invitation not valid");
    // Posting the form from a page opened before the first use also fails.
    const b = new Browser(app.url, app.send);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    const post = await b.post(new URL(link!).pathname, { csrf, password: "another long password" });
    expect(post.status).toBe(404);
    expect(await app.db.select().from(users).where(eq(users.email, "once@example.com"))).toHaveLength(1);
  });

  test("an expired link gets the same page as an unknown one", async () => {
    const { link } = await invite("late@example.com");
    advanceClock(7 * 86400 + 1);
    const expired = await new Browser(app.url, app.send).get(link!);
    const unknown = await new Browser(app.url, app.send).get(`/invite/gate_inv_${"a".repeat(16)}_${"b".repeat(52)}`);
    const garbage = await new Browser(app.url, app.send).get("/invite/%3Cscript%3E");
    expect([expired.status, unknown.status, garbage.status]).toEqual([404, 404, 404]);
    const [a, b, c] = await Promise.all([expired.text(), unknown.text(), garbage.text()]);
    expect(a).toBe(b);
    expect(c).toBe(b);
    expect(await userRow("late@example.com")).toBeNull();
  });

  test("a revoked link stops working and leaves the pending list", async () => {
    const { link } = await invite("revoked@example.com");
    const [row] = await invitationRows("revoked@example.com");
    const res = await admin.b.post(`/admin/invitations/${row!.id}/revoke`, { csrf: await csrfOf(admin.b) });
    expect(res.status).toBe(303);
    expect((await invitationRows("revoked@example.com"))[0]!.revokedAt).toBeNumber();
    expect((await new Browser(app.url, app.send).get(link!)).status).toBe(404);
    expect(await (await admin.b.get("/admin/people")).text()).not.toContain(`data-invitation-id="${row!.id}"`);
  });

  test("revoking an invitation twice is a readable 404", async () => {
    const { link } = await invite("revoke-twice@example.com");
    expect(link).not.toBeNull();
    const [row] = await invitationRows("revoke-twice@example.com");
    await admin.b.post(`/admin/invitations/${row!.id}/revoke`, { csrf: await csrfOf(admin.b) });
    const res = await admin.b.post(`/admin/invitations/${row!.id}/revoke`, { csrf: await csrfOf(admin.b) });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("No such invitation");
  });

  test("an expired invitation stays listed as Expired, with Invite again and Remove", async () => {
    await invite("lapsed@example.com", { admin: true });
    const [row] = await invitationRows("lapsed@example.com");
    advanceClock(7 * 86400 + 1);
    const html = await (await admin.b.get("/admin/people")).text();
    const tr = new RegExp(`<tr data-invitation-id="${row!.id}"[^>]*>([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? "";
    expect(tr).toContain("Expired");
    expect(tr).toContain('action="/admin/people/invite"');
    expect(tr).toContain('name="admin" value="on"');
    expect(tr).toContain(`href="/admin/invitations/${row!.id}/revoke"><span>Remove</span>`);
  });

  test("Invite again makes a new link, and the expired invitation leaves the list", async () => {
    await invite("again@example.com");
    const [old] = await invitationRows("again@example.com");
    advanceClock(7 * 86400 + 1);
    const { res, link } = await invite("again@example.com");
    expect(res.status).toBe(200);
    expect(link).not.toBeNull();
    expect((await invitationRows("again@example.com")).find((i) => i.id === old!.id)!.revokedAt).toBeNumber();
    const html = await (await admin.b.get("/admin/people")).text();
    expect(html).not.toContain(`data-invitation-id="${old!.id}"`);
    expect((await accept(link!)).res!.status).toBe(303);
  });

  test("Remove takes an expired invitation off the list, after asking", async () => {
    await invite("gone@example.com");
    const [row] = await invitationRows("gone@example.com");
    advanceClock(7 * 86400 + 1);
    const asked = await admin.b.get(`/admin/invitations/${row!.id}/revoke`);
    expect(asked.status).toBe(200);
    const question = await asked.text();
    expect(question).toContain("<h1>Remove the expired invitation for gone@example.com?</h1>");
    expect(question).toContain(">Remove invitation</button>");
    const res = await admin.b.post(`/admin/invitations/${row!.id}/revoke`, { csrf: await csrfOf(admin.b) });
    expect(res.status).toBe(303);
    expect(await (await admin.b.get("/admin/people")).text()).not.toContain(`data-invitation-id="${row!.id}"`);
  });

  test("an email that already has an account is refused at invite time", async () => {
    const { res, html, link } = await invite("Member@Example.com");
    expect(res.status).toBe(400);
    expect(link).toBeNull();
    expect(errorOf(html)).toBe("member@example.com already has an account.");
    expect(await invitationRows("member@example.com")).toEqual([]);
  });

  test("a bad email is a 400 page, not a 500", async () => {
    const { res, html } = await invite("not an email");
    expect(res.status).toBe(400);
    expect(errorOf(html)).toContain("is not a valid email address");
  });

  test("a short password shows the form again with the rule, and the link still works", async () => {
    const { link } = await invite("short@example.com");
    const { res } = await accept(link!, "short");
    expect(res!.status).toBe(400);
    expect(errorOf(await res!.text())).toBe("The password must be at least 12 characters long.");
    expect(await userRow("short@example.com")).toBeNull();
    expect((await accept(link!)).res!.status).toBe(303);
  });

  test("markup in an invited email is refused and shown as text", async () => {
    const { res, html } = await invite("<b>x</b>@example.com");
    expect(res.status).toBe(400);
    expect(errorOf(html)).toContain("&lt;b&gt;x&lt;/b&gt;");
    expect(html.replace(/ value="[^"]*"/g, "")).not.toContain("<b>");
  });

  test("audit entries: invitation created, revoked and accepted", async () => {
    const { auditEvents } = app.db.tables;
    await app.audit.drain();
    const events = (await app.db.select({ event: auditEvents.event }).from(auditEvents)).map((r) => r.event);
    for (const e of ["invitation_created", "invitation_revoked", "invitation_accepted"]) expect(events).toContain(e);
  });
});

describe("disabling and admins", () => {
  test("disabling ends the person's session, and enabling lets them sign in again", async () => {
    const { auditEvents, sessions } = app.db.tables;
    const target = await signedInUser("to-disable@example.com", false);
    const res = await admin.b.post(`/admin/people/${target.id}/disable`, { csrf: await csrfOf(admin.b) });
    expect(res.status).toBe(303);
    expect((await userRow("to-disable@example.com"))?.disabledAt).toBeNumber();
    expect(await app.db.select().from(sessions).where(eq(sessions.userId, target.id))).toEqual([]);
    expect((await target.b.get("/keys")).status).toBe(303);
    expect((await signIn("to-disable@example.com")).res.status).not.toBe(303);

    expect((await admin.b.post(`/admin/people/${target.id}/enable`, { csrf: await csrfOf(admin.b) })).status).toBe(303);
    expect((await userRow("to-disable@example.com"))?.disabledAt).toBeNull();
    expect((await signIn("to-disable@example.com")).res.status).toBe(303);
    await app.audit.drain();
    const rows = (await app.db.select().from(auditEvents).where(eq(auditEvents.userId, target.id))).map((r) => r.event);
    expect(rows).toContain("user_disabled");
    expect(rows).toContain("user_enabled");
  });

  test("make admin and remove admin", async () => {
    const target = await signedInUser("promote@example.com", false);
    expect((await admin.b.post(`/admin/people/${target.id}/make-admin`, { csrf: await csrfOf(admin.b) })).status).toBe(
      303,
    );
    expect((await userRow("promote@example.com"))?.isAdmin).toBe(true);
    expect((await target.b.get("/admin/people")).status).toBe(200);
    expect(
      (await admin.b.post(`/admin/people/${target.id}/remove-admin`, { csrf: await csrfOf(admin.b) })).status,
    ).toBe(303);
    expect((await userRow("promote@example.com"))?.isAdmin).toBe(false);
    expect((await target.b.get("/admin/people")).status).toBe(403);
  });

  test("an unknown person is a readable 404", async () => {
    for (const action of ["disable", "enable", "make-admin", "remove-admin"]) {
      const res = await admin.b.post(`/admin/people/nobody/${action}`, { csrf: await csrfOf(admin.b) });
      expect(res.status).toBe(404);
      expect(await res.text()).toContain("No such person");
    }
  });
});

describe("the last admin", () => {
  let solo: TestApp;
  let only: { id: string; b: Browser };
  beforeAll(async () => {
    solo = await createTestApp({ listen: false });
    await createUser(solo.db, {
      email: "only@example.com",
      password,
      passwordCost: solo.config.passwordHashCost,
      isAdmin: true,
      now: nowSeconds(),
    });
    const b = new Browser(solo.url, solo.send);
    const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
    await b.post("/sign-in", { csrf, email: "only@example.com", password });
    only = { id: first(await solo.db.select().from(solo.db.tables.users).limit(1))!.id, b };
  });
  afterAll(() => solo.close());
  const soloCsrf = async () => Browser.csrfOf(await (await only.b.get("/keys")).text());
  async function onlyRow() {
    const { users } = solo.db.tables;
    return first(
      await solo.db
        .select()
        .from(users)
        .where(and(eq(users.id, only.id)))
        .limit(1),
    )!;
  }

  test("asking by URL to disable or demote them answers the refusal (400), not a question", async () => {
    for (const action of ["disable", "remove-admin"]) {
      const res = await only.b.get(`/admin/people/${only.id}/${action}`);
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(errorOf(html)).toBe(
        "Refusing to disable or demote the last active admin: make someone else an admin first.",
      );
      expect(html).not.toContain('class="buttons confirm"');
    }
    expect((await onlyRow()).disabledAt).toBeNull();
  });

  test("their row offers neither Disable nor Remove admin, and says why", async () => {
    const html = await (await only.b.get("/admin/people")).text();
    const tr = new RegExp(`<tr data-user-id="${only.id}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? "";
    expect(tr).toContain("You, the last admin");
    expect(tr).not.toContain("/disable");
    expect(tr).not.toContain("/remove-admin");
  });

  test("cannot disable themselves", async () => {
    const res = await only.b.post(`/admin/people/${only.id}/disable`, { csrf: await soloCsrf() });
    expect(res.status).toBe(400);
    expect(errorOf(await res.text())).toContain("last active admin");
    expect((await onlyRow()).disabledAt).toBeNull();
  });

  test("a refusal is the list with the reason as a 400, at the post, and leaves no message for later", async () => {
    const res = await only.b.post(`/admin/people/${only.id}/remove-admin`, { csrf: await soloCsrf() });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('<table id="people" class="stack">');
    expect(errorOf(html)).toContain("last active admin");
    expect(flashOf(html)).toBeNull();
    expect(flashOf(await (await only.b.get("/admin/people")).text())).toBeNull();
  });

  test("cannot remove their own admin role", async () => {
    const res = await only.b.post(`/admin/people/${only.id}/remove-admin`, { csrf: await soloCsrf() });
    expect(res.status).toBe(400);
    expect(errorOf(await res.text())).toContain("last active admin");
    expect((await onlyRow()).isAdmin).toBe(true);
  });

  test("with a second admin, one's own row offers Remove admin but not Disable; the other's both", async () => {
    const other = await createUser(solo.db, {
      email: "other-admin@example.com",
      password,
      passwordCost: solo.config.passwordHashCost,
      isAdmin: true,
      now: nowSeconds(),
    });
    const html = await (await only.b.get("/admin/people")).text();
    const rowOf = (id: string) => new RegExp(`<tr data-user-id="${id}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? "";
    expect(rowOf(only.id)).toContain(">You<");
    expect(rowOf(only.id)).not.toContain("/disable");
    expect(rowOf(only.id)).toContain("/remove-admin");
    expect(rowOf(other.id)).toContain("/disable");
    expect(rowOf(other.id)).toContain("/remove-admin");
    await only.b.post(`/admin/people/${other.id}/disable`, { csrf: await soloCsrf() });
  });

  test("with a second admin, one may step down", async () => {
    const second = await createUser(solo.db, {
      email: "second@example.com",
      password,
      passwordCost: solo.config.passwordHashCost,
      isAdmin: true,
      now: nowSeconds(),
    });
    expect((await only.b.post(`/admin/people/${second.id}/disable`, { csrf: await soloCsrf() })).status).toBe(303);
    expect((await only.b.post(`/admin/people/${only.id}/remove-admin`, { csrf: await soloCsrf() })).status).toBe(400);
  });
});

describe("asking first, then saying what happened (issue 14)", () => {
  const confirmation = async (path: string, b = admin.b) => {
    const res = await b.get(path);
    return { status: res.status, html: await res.text() };
  };
  /** The next GET of `page` shows the message once; the one after shows none. */
  const flashedOnce = async (b: Browser, page = "/admin/people") => {
    const first = flashOf(await (await b.get(page)).text());
    const second = flashOf(await (await b.get(page)).text());
    expect(second).toBeNull();
    return first;
  };
  const postAs = async (b: Browser, path: string) => b.post(path, { csrf: await csrfOf(b) });

  test("Disable asks on its own page, naming the person and what stops, and changes nothing", async () => {
    const target = await signedInUser("ask-disable@example.com", false);
    const { status, html } = await confirmation(`/admin/people/${target.id}/disable`);
    expect(status).toBe(200);
    expect(html).toContain("<h1>Disable ask-disable@example.com?</h1>");
    expect(html).toContain("Their sessions end now, and their API keys and connections stop working at once");
    expect(html).toContain(`<form method="post" action="/admin/people/${target.id}/disable"`);
    expect(html).toContain('<a class="button secondary" href="/admin/people">Cancel</a>');
    expect((await userRow("ask-disable@example.com"))?.disabledAt).toBeNull();
    expect((await target.b.get("/keys")).status).toBe(200);
  });

  test("the list links Disable and Remove admin to their confirmation pages", async () => {
    const target = await signedInUser("linked@example.com", true);
    const html = await (await admin.b.get("/admin/people")).text();
    expect(html).toContain(`href="/admin/people/${target.id}/disable"`);
    expect(html).toContain(`href="/admin/people/${target.id}/remove-admin"`);
    expect(html).not.toContain(`action="/admin/people/${target.id}/disable"`);
    expect(html).not.toContain(`action="/admin/people/${target.id}/remove-admin"`);
  });

  test("Remove admin asks, naming the person and the admin pages they lose, and changes nothing", async () => {
    const target = await signedInUser("ask-demote@example.com", true);
    const { status, html } = await confirmation(`/admin/people/${target.id}/remove-admin`);
    expect(status).toBe(200);
    expect(html).toContain("<h1>Remove admin from ask-demote@example.com?</h1>");
    expect(html).toContain("They lose the admin pages");
    expect(html).toContain(`<form method="post" action="/admin/people/${target.id}/remove-admin"`);
    expect((await userRow("ask-demote@example.com"))?.isAdmin).toBe(true);
  });

  test("Revoke asks, naming the invited email, and the link still works", async () => {
    const { link } = await invite("ask-revoke@example.com");
    const [row] = await invitationRows("ask-revoke@example.com");
    const { status, html } = await confirmation(`/admin/invitations/${row!.id}/revoke`);
    expect(status).toBe(200);
    expect(html).toContain("<h1>Revoke the invitation for ask-revoke@example.com?</h1>");
    expect(html).toContain("The link you sent stops working at once");
    expect(html).toContain(`<form method="post" action="/admin/invitations/${row!.id}/revoke"`);
    expect((await invitationRows("ask-revoke@example.com"))[0]!.revokedAt).toBeNull();
    expect((await new Browser(app.url, app.send).get(link!)).status).toBe(200);
    expect(await (await admin.b.get("/admin/people")).text()).toContain(`href="/admin/invitations/${row!.id}/revoke"`);
  });

  test("an unknown id, a service account or a revoked invitation gets a 404 confirmation page", async () => {
    const { users } = app.db.tables;
    const service = (
      await createServiceAccount(app.db, {
        name: "not-a-person",
        access: "read",
        tools: null,
        resource: `${app.url}/mcp`,
        now: nowSeconds(),
      })
    ).account.user;
    for (const id of ["nobody", service.id]) {
      for (const action of ["disable", "remove-admin"]) {
        const { status, html } = await confirmation(`/admin/people/${id}/${action}`);
        expect(status).toBe(404);
        expect(html).toContain("No such person");
      }
    }
    expect((await postAs(admin.b, `/admin/people/${service.id}/disable`)).status).toBe(404);
    expect(first(await app.db.select().from(users).where(eq(users.id, service.id)).limit(1))?.disabledAt).toBeNull();
    await invite("gone@example.com");
    const [row] = await invitationRows("gone@example.com");
    await postAs(admin.b, `/admin/invitations/${row!.id}/revoke`);
    for (const id of [row!.id, "nothing"]) {
      const { status, html } = await confirmation(`/admin/invitations/${id}/revoke`);
      expect(status).toBe(404);
      expect(html).toContain("No such invitation");
    }
  });

  test("a member gets 403 on the confirmation pages, as on the posts", async () => {
    const { link } = await invite("member-cannot@example.com");
    expect(link).not.toBeNull();
    const [row] = await invitationRows("member-cannot@example.com");
    for (const path of [
      `/admin/people/${admin.id}/disable`,
      `/admin/people/${admin.id}/remove-admin`,
      `/admin/invitations/${row!.id}/revoke`,
    ]) {
      expect((await member.b.get(path)).status).toBe(403);
      expect((await postAs(member.b, path)).status).toBe(403);
    }
    expect(await userRow("admin@example.com")).toMatchObject({ disabledAt: null, isAdmin: true });
    expect((await invitationRows("member-cannot@example.com"))[0]!.revokedAt).toBeNull();
  });

  test("Disable and Enable redirect to the list, which says what happened once", async () => {
    const target = await signedInUser("reported@example.com", false);
    const res = await postAs(admin.b, `/admin/people/${target.id}/disable`);
    expect([res.status, res.headers.get("location")]).toEqual([303, "/admin/people"]);
    expect(await flashedOnce(admin.b)).toBe(
      "Disabled reported@example.com: their sessions ended and their API keys and connections stopped working.",
    );
    const enabled = await postAs(admin.b, `/admin/people/${target.id}/enable`);
    expect([enabled.status, enabled.headers.get("location")]).toEqual([303, "/admin/people"]);
    expect(await flashedOnce(admin.b)).toBe(
      "Enabled reported@example.com: they can sign in, and their API keys and connections work again.",
    );
  });

  test("Make admin and Remove admin redirect to the list, which says what happened once", async () => {
    const target = await signedInUser("role-reported@example.com", false);
    const made = await postAs(admin.b, `/admin/people/${target.id}/make-admin`);
    expect([made.status, made.headers.get("location")]).toEqual([303, "/admin/people"]);
    expect(await flashedOnce(admin.b)).toBe("role-reported@example.com is now an admin.");
    const removed = await postAs(admin.b, `/admin/people/${target.id}/remove-admin`);
    expect([removed.status, removed.headers.get("location")]).toEqual([303, "/admin/people"]);
    expect(await flashedOnce(admin.b)).toBe("role-reported@example.com is no longer an admin.");
  });

  test("revoking an invitation redirects to the list, which says what happened once", async () => {
    await invite("revoke-reported@example.com");
    const [row] = await invitationRows("revoke-reported@example.com");
    const res = await postAs(admin.b, `/admin/invitations/${row!.id}/revoke`);
    expect([res.status, res.headers.get("location")]).toEqual([303, "/admin/people"]);
    expect(await flashedOnce(admin.b)).toBe(
      "Revoked the invitation for revoke-reported@example.com: its link no longer works.",
    );
  });

  test("the new invitation's page is the POST's answer, with a status line", async () => {
    const { res, html, link } = await invite("status-line@example.com");
    expect(res.status).toBe(200);
    expect(link).not.toBeNull();
    expect(flashOf(html)).toBe("Created an invitation for status-line@example.com.");
  });

  test("an admin who steps down lands on their keys page with the message", async () => {
    const stepping = await signedInUser("stepping-down@example.com", true);
    const res = await postAs(stepping.b, `/admin/people/${stepping.id}/remove-admin`);
    expect([res.status, res.headers.get("location")]).toEqual([303, "/keys"]);
    expect(await flashedOnce(stepping.b, "/keys")).toBe("stepping-down@example.com is no longer an admin.");
  });

  test("an admin who disables themselves is sent to sign in", async () => {
    const leaving = await signedInUser("leaving@example.com", true);
    const ask = await leaving.b.get(`/admin/people/${leaving.id}/disable`);
    expect(await ask.text()).toContain("That is you: you will be signed out");
    const res = await postAs(leaving.b, `/admin/people/${leaving.id}/disable`);
    expect([res.status, res.headers.get("location")]).toEqual([303, "/sign-in"]);
    expect((await userRow("leaving@example.com"))?.disabledAt).toBeNumber();
  });
});
