import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { createInvitation } from "../../src/accounts/invitations.ts";
import { createUser, disableAccount } from "../../src/accounts/users.ts";
import { decodeFlow, encodeFlow } from "../../src/identity/flow-cookie.ts";
import { Browser, freePort, type TestApp } from "../helpers.ts";
import { gatehouseWith, loginAtOp, oidcProvider, startOp, type TestOp } from "./oidc-fixture.ts";

// Sign-in through a real OpenID Connect provider (oidc-provider) on loopback,
// driven over HTTP with a cookie jar. The providers below share one OP and
// client, each with its own policy; "wrong-issuer" talks to a second OP that
// calls itself by another name than the one configured.

const now = () => Math.floor(Date.now() / 1000);
const port = freePort();
const callback = (id: string) => `http://127.0.0.1:${port}/sign-in/${id}/callback`;
const ids = ["invite-op", "open-op", "domain-op", "wrong-issuer"];

let op: TestOp;
let wrongOp: TestOp;
let app: TestApp;

beforeAll(async () => {
  op = await startOp({ redirectUris: ids.map(callback) });
  wrongOp = await startOp({ redirectUris: ids.map(callback), issuer: (url) => url.replace("127.0.0.1", "localhost") });
  app = await gatehouseWith(port, [
    oidcProvider(op, { id: "invite-op", name: "Invite OP" }),
    oidcProvider(op, { id: "open-op", name: "Open OP", signup: "open" }),
    oidcProvider(op, { id: "domain-op", name: "Domain OP", signup: "open", allowedDomains: ["example.com"] }),
    // Configured with the loopback URL, while that OP's discovery says "localhost".
    oidcProvider(wrongOp, {
      id: "wrong-issuer",
      name: "Wrong OP",
      issuer: wrongOp.issuer.replace("localhost", "127.0.0.1"),
    }),
  ]);
  op.accounts.set("alice", { email: "alice@example.com", email_verified: true });
  op.accounts.set("bob", { email: "Bob@Example.com", email_verified: true });
  op.accounts.set("carol", { email: "carol@example.com", email_verified: false });
  op.accounts.set("dave", { email: "dave@elsewhere.org", email_verified: true });
  op.accounts.set("erin", { email: "erin@example.com", email_verified: true });
  op.accounts.set("frank", { email: "frank@example.com", email_verified: true });
  op.accounts.set("grace", { email: "grace@example.com", email_verified: true });
  op.accounts.set("heidi", { email: "heidi@example.com", email_verified: true });
  op.accounts.set("ivan", { email: "ivan@example.com", email_verified: true });
});

afterAll(async () => {
  await app?.close();
  await op?.close();
  await wrongOp?.close();
});

/** Presses the provider's button on the sign-in page; the answer is Gatehouse's redirect to the provider. */
async function start(b: Browser, provider: string, extra: Record<string, string> = {}): Promise<Response> {
  const page = await b.get("/sign-in");
  return b.post(`/sign-in/${provider}`, { csrf: Browser.csrfOf(await page.text()), next: "/keys", ...extra });
}

/** A whole sign-in as `login`; the answer of Gatehouse's callback. */
async function signInAs(
  provider: string,
  login: string,
  b = new Browser(app.url),
): Promise<{ res: Response; b: Browser }> {
  const started = await start(b, provider);
  expect(started.status).toBe(303);
  const back = await loginAtOp(b, started.headers.get("location")!, login);
  return { res: await b.request(back), b };
}

async function linkOf(provider: string, subject: string) {
  const { identityLinks } = app.db.tables;
  return first(
    await app.db
      .select()
      .from(identityLinks)
      .where(and(eq(identityLinks.provider, provider), eq(identityLinks.subject, subject)))
      .limit(1),
  );
}
async function userByEmail(email: string) {
  const { users } = app.db.tables;
  return first(await app.db.select().from(users).where(eq(users.email, email)).limit(1));
}

async function signedInEmail(b: Browser): Promise<string | null> {
  const res = await b.get("/keys");
  if (res.status !== 200) return null;
  return /class="who"[^>]*>([^<]+)</.exec(await res.text())?.[1] ?? null;
}

async function failures(reason: string): Promise<number> {
  const { auditEvents } = app.db.tables;
  await app.audit.drain();
  return (await app.db.select().from(auditEvents).where(eq(auditEvents.event, "sign_in_failed"))).filter(
    (e) => e.detail !== null && (JSON.parse(e.detail) as { reason?: string }).reason === reason,
  ).length;
}

/** The internal detail of the last refusal in the server log (never shown to the person). */
function lastRefusalDetail(): string {
  const line = app.logs.filter((l) => l.msg === "sign-in failed").at(-1);
  return String(line?.detail ?? "");
}

describe("the sign-in page", () => {
  test("shows one POST button per provider, and its CSP lets the buttons reach the provider", async () => {
    const res = await new Browser(app.url).get("/sign-in");
    const html = await res.text();
    for (const id of ids) expect(html).toContain(`action="/sign-in/${id}"`);
    expect(html).toContain("Sign in with Invite OP");
    expect(res.headers.get("content-security-policy")).toContain(`form-action 'self' ${new URL(op.issuer).origin}`);
  });

  test("the start sends PKCE S256, state and nonce to the provider's authorization endpoint", async () => {
    const b = new Browser(app.url);
    const res = await start(b, "invite-op");
    const to = new URL(res.headers.get("location")!);
    expect(to.origin).toBe(new URL(op.issuer).origin);
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    expect(to.searchParams.get("redirect_uri")).toBe(callback("invite-op"));
    const flow = decodeFlow(b.cookies.get("gatehouse_signin_flow")!, now());
    expect(flow?.state).toBe(to.searchParams.get("state")!);
    expect(flow?.nonce).toBe(to.searchParams.get("nonce")!);
    expect(res.headers.getSetCookie().join()).toMatch(
      /gatehouse_signin_flow=[^;]+; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax/i,
    );
  });

  test("a post without the form token is refused with 403", async () => {
    const res = await new Browser(app.url).post("/sign-in/invite-op", { csrf: "nope" });
    expect(res.status).toBe(403);
  });

  test("an unknown provider is a 404 page", async () => {
    const b = new Browser(app.url);
    expect((await start(b, "nobody")).status).toBe(404);
    expect((await b.get("/sign-in/nobody/callback?code=x&state=y")).status).toBe(404);
  });
});

describe("signing in", () => {
  test("signup=open: the first sign-in creates a member account, a link and a session, and lands on next", async () => {
    const { res, b } = await signInAs("open-op", "alice");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/keys");
    expect(b.cookies.has("gatehouse_signin_flow")).toBe(false);
    const user = (await userByEmail("alice@example.com"))!;
    expect(user.isAdmin).toBe(false);
    expect(user.passwordHash).toBeNull();
    expect((await linkOf("open-op", "alice"))?.userId).toBe(user.id);
    expect(await signedInEmail(b)).toBe("alice@example.com");
  });

  test("a sign-in reuses the provider's discovery document instead of fetching it at start and callback", async () => {
    const before = op.discoveryRequests();
    const { res } = await signInAs("open-op", "alice");
    expect(res.status).toBe(303);
    // Fetched at most once in this app's life per provider (the test above already did).
    expect(op.discoveryRequests() - before).toBe(0);
  });

  test("the same person signing in again reaches the same account through the link", async () => {
    const { users } = app.db.tables;
    const before = (await app.db.select().from(users)).length;
    const { res, b } = await signInAs("open-op", "alice");
    expect(res.status).toBe(303);
    expect((await app.db.select().from(users)).length).toBe(before);
    expect(await signedInEmail(b)).toBe("alice@example.com");
    expect((await linkOf("open-op", "alice"))?.lastUsedAt).not.toBeNull();
  });

  test("an existing account is linked by its verified email (case aside), with sign_in and identity_linked audited", async () => {
    const { auditEvents } = app.db.tables;
    const bob = await createUser(app.db, { email: "bob@example.com", password: null, isAdmin: false, now: now() });
    const { res, b } = await signInAs("invite-op", "bob");
    expect(res.status).toBe(303);
    expect((await linkOf("invite-op", "bob"))?.userId).toBe(bob.id);
    expect((await linkOf("invite-op", "bob"))?.email).toBe("bob@example.com");
    expect(await signedInEmail(b)).toBe("bob@example.com");
    await app.audit.drain();
    const events = (await app.db.select().from(auditEvents).where(eq(auditEvents.userId, bob.id))).map((e) => e.event);
    expect(events).toContain("identity_linked");
    expect(events).toContain("sign_in");
  });

  test("an unverified email is refused with 403 and no account", async () => {
    const { res, b } = await signInAs("open-op", "carol");
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Email not verified");
    expect(await userByEmail("carol@example.com")).toBeNull();
    expect(await signedInEmail(b)).toBeNull();
    expect(await failures("unverified_email")).toBe(1);
  });

  test("an email outside allowed_domains is refused with 403", async () => {
    const { res } = await signInAs("domain-op", "dave");
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Email domain not allowed");
    expect(await userByEmail("dave@elsewhere.org")).toBeNull();
    expect(await failures("domain_not_allowed")).toBe(1);
  });

  test("signup=invite: an unknown person without an invitation is refused with 403", async () => {
    const { res } = await signInAs("invite-op", "erin");
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Invitation needed");
    expect(await userByEmail("erin@example.com")).toBeNull();
    expect(await linkOf("invite-op", "erin")).toBeNull();
  });

  test("signup=invite: a pending invitation for the verified email is accepted and linked", async () => {
    const { invitations } = app.db.tables;
    const { invitation } = await createInvitation(app.db, {
      email: "erin@example.com",
      isAdmin: true,
      createdBy: null,
      now: now(),
    });
    const { res, b } = await signInAs("invite-op", "erin");
    expect(res.status).toBe(303);
    const erin = (await userByEmail("erin@example.com"))!;
    expect(erin.isAdmin).toBe(true);
    expect(
      first(await app.db.select().from(invitations).where(eq(invitations.id, invitation.id)).limit(1))?.userId,
    ).toBe(erin.id);
    expect((await linkOf("invite-op", "erin"))?.userId).toBe(erin.id);
    expect(await signedInEmail(b)).toBe("erin@example.com");
  });

  test("a disabled account is refused with 403, also through an existing link", async () => {
    await signInAs("open-op", "frank");
    await disableAccount(app.db, (await userByEmail("frank@example.com"))!.id, now());
    const { res, b } = await signInAs("open-op", "frank");
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Account disabled");
    expect(await signedInEmail(b)).toBeNull();
  });

  test("an identity linked to a service account is refused", async () => {
    const { identityLinks, users } = app.db.tables;
    await app.db.insert(users).values({
      id: "svc1",
      email: "svc1@service.invalid",
      isAdmin: false,
      createdAt: now(),
      kind: "service",
      name: "svc",
    });
    await app.db.insert(identityLinks).values({
      provider: "open-op",
      subject: "ivan",
      userId: "svc1",
      email: "ivan@example.com",
      createdAt: now(),
      lastUsedAt: null,
    });
    const { res } = await signInAs("open-op", "ivan");
    expect(res.status).toBe(403);
    expect(await failures("account_not_allowed")).toBe(1);
  });
});

describe("the invitation page", () => {
  test("offers the provider buttons carrying the invitation; accepting signs in on /keys", async () => {
    const { token } = await createInvitation(app.db, {
      email: "grace@example.com",
      isAdmin: false,
      createdBy: null,
      now: now(),
    });
    const b = new Browser(app.url);
    const page = await b.get(`/invite/${token}`);
    const html = await page.text();
    expect(html).toContain(`name="invitation" value="${token}"`);
    const started = await b.post("/sign-in/invite-op", { csrf: Browser.csrfOf(html), invitation: token });
    const res = await b.request(await loginAtOp(b, started.headers.get("location")!, "grace"));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/keys");
    expect((await linkOf("invite-op", "grace"))?.userId).toBe((await userByEmail("grace@example.com"))!.id);
  });

  test("a provider email other than the invited one is refused and the invitation stays pending", async () => {
    const { invitations } = app.db.tables;
    const { token, invitation } = await createInvitation(app.db, {
      email: "someone-else@example.com",
      isAdmin: false,
      createdBy: null,
      now: now(),
    });
    const b = new Browser(app.url);
    const html = await (await b.get(`/invite/${token}`)).text();
    const started = await b.post("/sign-in/invite-op", { csrf: Browser.csrfOf(html), invitation: token });
    const res = await b.request(await loginAtOp(b, started.headers.get("location")!, "heidi"));
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Invitation is for someone else");
    expect(
      first(await app.db.select().from(invitations).where(eq(invitations.id, invitation.id)).limit(1))?.usedAt,
    ).toBeNull();
    expect(await userByEmail("heidi@example.com")).toBeNull();
  });

  test("a dead invitation token is refused at the start", async () => {
    const b = new Browser(app.url);
    const html = await (await b.get("/sign-in")).text();
    const res = await b.post("/sign-in/invite-op", {
      csrf: Browser.csrfOf(html),
      invitation: "gate_inv_aaaaaaaaaaaaaaaa_bbbb",
    });
    expect(res.status).toBe(404);
  });
});

describe("refusals from the protocol checks", () => {
  test("a provider whose discovery names another issuer is refused at the start with 400", async () => {
    const b = new Browser(app.url);
    const res = await start(b, "wrong-issuer");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("failed Gatehouse");
    expect(b.cookies.has("gatehouse_signin_flow")).toBe(false);
    expect(await failures("invalid_response")).toBeGreaterThanOrEqual(1);
    expect(lastRefusalDetail()).toContain('"issuer"');
  });

  test("a tampered nonce in the flow cookie fails the ID token check: 400, no session, no account", async () => {
    const b = new Browser(app.url);
    const started = await start(b, "open-op");
    const back = await loginAtOp(b, started.headers.get("location")!, "heidi");
    const flow = decodeFlow(b.cookies.get("gatehouse_signin_flow")!, now())!;
    b.cookies.set("gatehouse_signin_flow", encodeFlow({ ...flow, nonce: "not-the-nonce-that-was-sent" }));
    const res = await b.request(back);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("ID token");
    expect(lastRefusalDetail()).toContain('"nonce"');
    expect(await userByEmail("heidi@example.com")).toBeNull();
    expect(await signedInEmail(b)).toBeNull();
  });

  test("a state that is not this browser's is refused with 400", async () => {
    const b = new Browser(app.url);
    const started = await start(b, "open-op");
    const back = new URL(await loginAtOp(b, started.headers.get("location")!, "heidi"));
    back.searchParams.set("state", "someone-elses-state");
    const res = await b.request(back.href);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("state mismatch");
    expect(await userByEmail("heidi@example.com")).toBeNull();
  });

  test("a callback without the flow cookie (expired or another browser) is refused with 400", async () => {
    const b = new Browser(app.url);
    const started = await start(b, "open-op");
    const back = await loginAtOp(b, started.headers.get("location")!, "heidi");
    b.cookies.delete("gatehouse_signin_flow");
    const res = await b.request(back);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Sign-in expired");
  });

  test("the flow cookie works once: the same callback again is refused", async () => {
    const b = new Browser(app.url);
    const started = await start(b, "open-op");
    const back = await loginAtOp(b, started.headers.get("location")!, "alice");
    expect((await b.request(back)).status).toBe(303);
    expect((await b.request(back)).status).toBe(400);
  });

  test("error=access_denied from the provider is a 403 page", async () => {
    const b = new Browser(app.url);
    const started = await start(b, "open-op");
    const state = new URL(started.headers.get("location")!).searchParams.get("state")!;
    const res = await b.get(
      `/sign-in/open-op/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(op.issuer)}`,
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("access denied");
    expect(await failures("access_denied")).toBe(1);
  });

  test("garbage query strings and cookies never give a 500", async () => {
    const b = new Browser(app.url);
    await start(b, "open-op");
    for (const q of ["", "?code=x", "?state=&code=", "?state=a&state=b", "?code=%ZZ&state=%00"]) {
      const res = await b.get(`/sign-in/open-op/callback${q}`);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    b.cookies.set("gatehouse_signin_flow", "%7B%22provider%22");
    expect((await b.get("/sign-in/open-op/callback?code=x&state=y")).status).toBe(400);
  });
});
