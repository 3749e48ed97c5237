import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import type { IdentityProviderConfig } from "../../src/identity/config.ts";
import { Browser, createTestApp, freePort, type TestApp } from "../helpers.ts";

// Sign-in through GitHub, with a loopback server standing in for github.com
// and api.github.com (github_url, github_api_url): it checks what GitHub
// checks (client secret, redirect URI, the PKCE verifier) and answers the
// REST API as GitHub does for the person the test chooses.

interface GitHubPerson {
  id: number;
  emails: { email: string; primary: boolean; verified: boolean }[];
  orgs: string[];
}

const clientId = "Iv1.gatehousetest";
const clientSecret = "github-test-secret";
let person: GitHubPerson;
let lastScope = "";
const codes = new Map<string, { person: GitHubPerson; challenge: string; redirectUri: string }>();
const tokens = new Map<string, GitHubPerson>();

async function sha256url(s: string): Promise<string> {
  return Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s))).toString("base64url");
}

const fakeGitHub = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/login/oauth/authorize") {
      // The person approves at once.
      lastScope = url.searchParams.get("scope") ?? "";
      const code = crypto.randomUUID();
      codes.set(code, {
        person,
        challenge: url.searchParams.get("code_challenge")!,
        redirectUri: url.searchParams.get("redirect_uri")!,
      });
      const back = new URL(url.searchParams.get("redirect_uri")!);
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state")!);
      return Response.redirect(back.href, 302);
    }
    if (url.pathname === "/login/oauth/access_token" && req.method === "POST") {
      const form = new URLSearchParams(await req.text());
      const entry = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      const ok =
        entry &&
        form.get("client_id") === clientId &&
        form.get("client_secret") === clientSecret &&
        form.get("redirect_uri") === entry.redirectUri &&
        (await sha256url(form.get("code_verifier") ?? "")) === entry.challenge;
      // GitHub answers errors with 200 and an error member.
      if (!ok)
        return Response.json({
          error: "bad_verification_code",
          error_description: "The code passed is incorrect or expired.",
        });
      const token = `gho_${crypto.randomUUID()}`;
      tokens.set(token, entry.person);
      return Response.json({ access_token: token, token_type: "bearer", scope: "read:user,user:email" });
    }
    const who = tokens.get(req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "");
    if (!who) return Response.json({ message: "Bad credentials" }, { status: 401 });
    if (url.pathname === "/api/user") return Response.json({ id: who.id, login: `user${who.id}` });
    if (url.pathname === "/api/user/emails") return Response.json(who.emails.map((e) => ({ ...e, visibility: null })));
    if (url.pathname === "/api/user/orgs") return Response.json(who.orgs.map((login, i) => ({ login, id: i + 1 })));
    return new Response("not found", { status: 404 });
  },
});

const base = `http://127.0.0.1:${fakeGitHub.port}`;
const provider = (overrides: Partial<IdentityProviderConfig>): IdentityProviderConfig => ({
  id: "github",
  type: "github",
  name: "GitHub",
  issuer: null,
  clientId,
  clientSecret,
  allowedDomains: [],
  allowedOrgs: [],
  signup: "open",
  githubUrl: base,
  githubApiUrl: `${base}/api`,
  ...overrides,
});

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp({
    port: freePort(),
    identityProviders: [provider({}), provider({ id: "github-acme", name: "GitHub (Acme)", allowedOrgs: ["acme"] })],
  });
});

afterAll(async () => {
  await app?.close();
  fakeGitHub.stop(true);
});

async function signIn(providerId: string, who: GitHubPerson): Promise<{ res: Response; b: Browser }> {
  person = who;
  const b = new Browser(app.url);
  const page = await b.get("/sign-in");
  const started = await b.post(`/sign-in/${providerId}`, { csrf: Browser.csrfOf(await page.text()), next: "/keys" });
  expect(started.status).toBe(303);
  const atGitHub = await fetch(started.headers.get("location")!, { redirect: "manual" });
  return { res: await b.request(atGitHub.headers.get("location")!), b };
}

async function link(providerId: string, subject: string) {
  const { identityLinks } = app.db.tables;
  return first(
    await app.db
      .select()
      .from(identityLinks)
      .where(and(eq(identityLinks.provider, providerId), eq(identityLinks.subject, subject)))
      .limit(1),
  );
}
async function userByEmail(email: string) {
  const { users } = app.db.tables;
  return first(await app.db.select().from(users).where(eq(users.email, email)).limit(1));
}

describe("sign-in through GitHub", () => {
  test("the numeric id is the subject and the primary verified email names the account", async () => {
    const { res } = await signIn("github", {
      id: 1001,
      emails: [{ email: "Octo@Example.com", primary: true, verified: true }],
      orgs: [],
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/keys");
    expect(lastScope).toBe("read:user user:email");
    expect((await link("github", "1001"))?.userId).toBe((await userByEmail("octo@example.com"))!.id);
  });

  test("an unverified primary email is refused, even beside a verified secondary one", async () => {
    const { res } = await signIn("github", {
      id: 1002,
      emails: [
        { email: "primary@example.com", primary: true, verified: false },
        { email: "other@example.com", primary: false, verified: true },
      ],
      orgs: [],
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Email not verified");
    expect(await link("github", "1002")).toBeNull();
    expect(await userByEmail("other@example.com")).toBeNull();
  });

  test("allowed_orgs: a member of an allowed organization signs in, and read:org is asked for", async () => {
    const { res } = await signIn("github-acme", {
      id: 1003,
      emails: [{ email: "member@example.com", primary: true, verified: true }],
      orgs: ["other", "Acme"],
    });
    expect(res.status).toBe(303);
    expect(lastScope).toBe("read:user user:email read:org");
    expect(await link("github-acme", "1003")).not.toBeNull();
  });

  test("allowed_orgs: someone in no allowed organization is refused with 403", async () => {
    const { res } = await signIn("github-acme", {
      id: 1004,
      emails: [{ email: "outsider@example.com", primary: true, verified: true }],
      orgs: ["other"],
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Organization required");
    expect(await userByEmail("outsider@example.com")).toBeNull();
  });

  test("a code GitHub no longer accepts is refused with 400, never a 500", async () => {
    person = { id: 1005, emails: [{ email: "late@example.com", primary: true, verified: true }], orgs: [] };
    const b = new Browser(app.url);
    const started = await b.post("/sign-in/github", { csrf: Browser.csrfOf(await (await b.get("/sign-in")).text()) });
    const state = new URL(started.headers.get("location")!).searchParams.get("state")!;
    const res = await b.get(`/sign-in/github/callback?code=made-up&state=${state}`);
    expect(res.status).toBe(400);
    expect(app.logs.filter((l) => l.msg === "sign-in failed").at(-1)).toMatchObject({
      reason: "provider_error",
      detail: expect.stringContaining("bad_verification_code"),
    });
    expect(await userByEmail("late@example.com")).toBeNull();
  });

  test("GitHub unreachable is a 502 page", async () => {
    const down = `http://127.0.0.1:${freePort()}`;
    const other = await createTestApp({ identityProviders: [provider({ githubUrl: down, githubApiUrl: down })] });
    try {
      const b = new Browser(other.url);
      const started = await b.post("/sign-in/github", { csrf: Browser.csrfOf(await (await b.get("/sign-in")).text()) });
      const state = new URL(started.headers.get("location")!).searchParams.get("state")!;
      const res = await b.get(`/sign-in/github/callback?code=x&state=${state}`);
      expect(res.status).toBe(502);
      expect(await res.text()).toContain("could not reach GitHub");
    } finally {
      await other.close();
    }
  });
});
