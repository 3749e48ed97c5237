import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, Response } from "playwright-core";
import { createInvitation } from "../../src/accounts/invitations.ts";
import { createServiceAccount } from "../../src/accounts/service-accounts.ts";
import { disableAccount } from "../../src/accounts/users.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { registerManualClient } from "../../src/oauth/registration.ts";
import { oauthPaths } from "../../src/oauth/paths.ts";
import { mcpResourceUrl } from "../../src/oauth/resource.ts";
import { createTestApp, tempDir, type TestApp } from "../helpers.ts";
import { everythingEntry, waitFor } from "../gateway/upstreams.ts";
import { rpc } from "../mcp/fixture.ts";
import { nowSeconds } from "../support/clock.ts";
import { challenge, makeClient, makeConnection, makeUser, redirectUri } from "../support/factories.ts";
import { clickAndLoad, submitSignIn } from "./chromium.ts";

// Every page a person can reach, by who they are, on one app with rows in
// every table: the accessibility test (pages-a11y-browser.test.ts) and
// `npm run screenshots` (screenshots.ts) both walk it. A page reached by a
// form post is reached by filling and submitting the real form.

/** Who looks: nobody signed in, a member, an admin, or a member signed in by pasting an API key. */
export type Role = "signed-out" | "member" | "admin" | "key-session";
export const roles: readonly Role[] = ["signed-out", "member", "admin", "key-session"];

/** The two screens every page is looked at on: a phone's and a laptop's. */
export const viewports = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
] as const;
export type Viewport = (typeof viewports)[number];
export const schemes = ["light", "dark"] as const;
export type Scheme = (typeof schemes)[number];

export interface Stop {
  /** Unique; the screenshot's file name. */
  name: string;
  role: Role;
  /** A path on the seeded app, or the steps that bring the browser to the page. */
  reach: string | ((page: Page) => Promise<unknown>);
  /** The HTTP status the page is served with (the last document the browser loaded); 200 unless said. */
  status?: number;
}

export interface Tour {
  /** The seeded app every stop but the first-start ones visits. */
  app: TestApp;
  /** An app with no account yet, started with a setup link: the first-start pages. */
  fresh: TestApp;
  stops: Stop[];
  /** A browser context at this size and colour scheme, signed in as `role`, and its page. */
  open(browser: Browser, role: Role, viewport: Viewport, scheme: Scheme): Promise<Opened>;
  /** Brings `page` to the stop; the page's status, to compare with `stop.status`. */
  visit(page: Page, stop: Stop): Promise<number | null>;
  close(): Promise<void>;
}

interface Opened {
  context: BrowserContext;
  page: Page;
}

const password = "correct horse battery staple";
const people = {
  admin: "admin.with.a.long.address@example.com",
  member: "member@example.com",
};
const setupToken = "tour-setup-token-0123456789";

/** The form on the page that posts to `action`, not a row's one-button form (a search box is a GET form). */
const form = (page: Page, action: string) => page.locator(`form[method="post"][action="${action}"]:not(.inline)`);

/** Fills a form's named fields (a text box, a select, or the radio button of that value) and submits it with its submit button. */
async function submitForm(page: Page, action: string, fields: Record<string, string>, button?: string) {
  const target = form(page, action);
  const count = await target.count();
  if (count !== 1) throw new Error(`${page.url()} has ${count} forms posting to ${action}, not one`);
  for (const [name, value] of Object.entries(fields)) {
    const field = target.locator(`[name="${name}"]`);
    const kind = await field
      .first()
      .evaluate((el) => (el.tagName === "INPUT" ? (el as HTMLInputElement).type : el.tagName));
    if (kind === "radio") await target.locator(`[name="${name}"][value="${value}"]`).check();
    else if (kind === "SELECT") await field.selectOption(value);
    else await field.fill(value);
  }
  await clickAndLoad(page, target.locator(button ?? 'button[type="submit"]').first());
}

/** Seeds the app: people (one disabled), keys (one expired, one expiring soon), clients, connections, invitations (one expired), service accounts, upstreams (one failing) and audit rows. */
async function seed(app: TestApp) {
  const now = nowSeconds();
  const day = 86400;
  const admin = await makeUser(app, { isAdmin: true, email: people.admin, password });
  const member = await makeUser(app, { email: people.member, password });
  const gone = await makeUser(app, { email: "someone.who.left@example.com", password });
  await disableAccount(app.db, gone.id, now);
  const key = (userId: string, name: string, opts: { access?: "read" | "full"; ago?: number; lifetime?: number }) =>
    createApiKey(app.db, {
      userId,
      name,
      access: opts.access ?? "full",
      expiresInSeconds: opts.lifetime ?? null,
      now: now - (opts.ago ?? 0),
    });
  const adminKey = await key(admin.id, "deploy from the build server", {});
  await key(admin.id, "old laptop", { access: "read", ago: 40 * day, lifetime: 30 * day });
  const memberKey = await key(member.id, "Laptop", {});
  await key(member.id, "nightly report (expires soon)", { access: "read", ago: 28 * day, lifetime: 30 * day });
  await key(member.id, "expired CI key", { ago: 100 * day, lifetime: 90 * day });

  const { client: claude } = await makeClient(app, { name: "Claude (a client with a long name)" });
  const { client: editor } = await makeClient(app, { name: "Editor", method: "client_secret_basic" });
  await makeConnection(app, { userId: admin.id, clientId: claude.id });
  const memberConnection = (await makeConnection(app, { userId: member.id, clientId: claude.id, tools: [] }))
    .authorization;
  await makeConnection(app, { userId: member.id, clientId: editor.id, scope: "mcp:read" });
  const own = (
    await registerManualClient(app.db, {
      name: "My script",
      redirectUris: ["http://127.0.0.1:8976/callback", "https://my-script.example.com/oauth/callback"],
      method: "none",
      ownerUserId: member.id,
      now,
    })
  ).client;
  const device = (await makeClient(app, { name: "Living room TV" })).client;

  const pending = (
    await createInvitation(app.db, { email: "new.person@example.com", isAdmin: false, createdBy: admin.id, now })
  ).invitation;
  await createInvitation(app.db, {
    email: "late@example.com",
    isAdmin: true,
    createdBy: admin.id,
    now: now - 10 * day,
  });
  const invitation = await createInvitation(app.db, {
    email: "invited@example.com",
    isAdmin: false,
    createdBy: null,
    now,
  });
  const resource = mcpResourceUrl(app.url);
  const ci = (await createServiceAccount(app.db, { name: "ci-deploy", access: "full", tools: null, resource, now }))
    .account;
  await createServiceAccount(app.db, { name: "read-only-metrics", access: "read", tools: null, resource, now });

  // Audit rows: tool calls of both keys, to a built-in tool, an upstream's and one that does not exist.
  const calls = [
    [adminKey.token, "gatehouse__whoami"],
    [memberKey.token, "gatehouse__whoami"],
    [memberKey.token, "everything__echo"],
    [memberKey.token, "no_such_tool"],
  ] as const;
  for (const [i, [token, name]] of calls.entries()) {
    const call = { jsonrpc: "2.0", id: i, method: "tools/call", params: { name, arguments: { message: "hi" } } };
    await (await rpc(app, token, call, { "mcp-protocol-version": "2025-06-18" })).arrayBuffer();
  }
  await app.audit.drain();
  return {
    claude,
    editor,
    own,
    device,
    memberKeyToken: memberKey.token,
    memberKeyId: memberKey.apiKey.id,
    memberConnectionId: memberConnection.id,
    memberId: member.id,
    invitationToken: invitation.token,
    pendingInvitationId: pending.id,
    serviceAccountId: ci.user.id,
  };
}

/** The authorization request a client sends (RFC 6749 §4.1.1, RFC 7636, RFC 8707), for `clientId`. */
function authorizeUrl(app: TestApp, clientId: string): string {
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    scope: "mcp:read mcp:write",
    state: "tour",
    resource: mcpResourceUrl(app.url),
  });
  return `${app.url}${oauthPaths.authorize}?${query}`;
}

/** A device authorization (RFC 8628 §3.1) the device client starts: its user code. */
async function newUserCode(app: TestApp, clientId: string): Promise<string> {
  const res = await fetch(`${app.url}${oauthPaths.deviceAuthorization}`, {
    method: "POST",
    body: new URLSearchParams({ client_id: clientId }),
  });
  if (res.status !== 200) throw new Error(`device authorization answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { user_code: string }).user_code;
}

/** Starts the apps, seeds them, and lists every stop. */
export async function startTour(): Promise<Tour> {
  const toml = `
[[upstream]]
name = "everything"
command = "node"
args = ["${everythingEntry}", "stdio"]

[[upstream]]
name = "broken"
command = "sh"
args = ["-c", "echo 'missing API token' >&2; exit 3"]
`;
  // Written to a file as in production, so the upstreams page names it.
  const configDir = tempDir();
  const configFile = join(configDir, "gatehouse.toml");
  writeFileSync(configFile, toml);
  const app = await createTestApp({
    env: { GATEHOUSE_CONFIG: configFile },
    gateway: parseGatewayConfig(configFile, toml, {}),
  });
  const fresh = await createTestApp({ setupToken });
  await waitFor(() => app.gateway!.statuses().some((s) => s.name === "everything" && s.state === "connected"));
  const seeded = await seed(app);
  // Names of what a visit creates: unique, as a page may refuse a name it already has.
  let made = 0;
  const unique = (name: string) => `${name}-${++made}`;

  const deviceConsent = async (page: Page) => {
    await page.goto(`${app.url}/device?user_code=${encodeURIComponent(await newUserCode(app, seeded.device.id))}`);
    await submitForm(page, "/device", {});
  };

  const stops: Stop[] = [
    { name: "sign-in", role: "signed-out", reach: "/sign-in" },
    {
      name: "sign-in-failed",
      role: "signed-out",
      status: 401,
      reach: async (page) => {
        await page.goto(`${app.url}/sign-in`);
        await submitForm(page, "/sign-in", { email: "nobody@example.com", password: "not the password" });
      },
    },
    {
      name: "sign-in-for-an-app",
      role: "signed-out",
      reach: (page) => page.goto(authorizeUrl(app, seeded.claude.id)),
    },
    { name: "sign-in-for-a-device", role: "signed-out", reach: "/device" },
    { name: "invitation", role: "signed-out", reach: `/invite/${seeded.invitationToken}` },
    { name: "invitation-not-valid", role: "signed-out", status: 404, reach: "/invite/gate_inv_nothing_here" },
    {
      name: "authorize-bad-request",
      role: "signed-out",
      status: 400,
      reach: `${oauthPaths.authorize}?response_type=code&client_id=nobody`,
    },
    { name: "not-found", role: "signed-out", status: 404, reach: "/no-such-page" },
    { name: "setup-link-not-valid", role: "signed-out", status: 404, reach: "/setup?token=wrong" },
    // Last for this role: cookies are per host, not per port, so the other app's come after.
    { name: "first-start-sign-in", role: "signed-out", reach: (page) => page.goto(`${fresh.url}/sign-in`) },
    {
      name: "setup",
      role: "signed-out",
      reach: (page) => page.goto(`${fresh.url}/setup?token=${setupToken}`),
    },

    { name: "member-keys", role: "member", reach: "/keys" },
    {
      name: "member-key-created",
      role: "member",
      reach: async (page) => {
        await page.goto(`${app.url}/keys`);
        await submitForm(page, "/keys", { name: unique("deploy"), expires_in: "30d" });
      },
    },
    { name: "member-activity", role: "member", reach: "/activity" },
    { name: "member-clients", role: "member", reach: "/clients" },
    { name: "member-client-edit", role: "member", reach: `/clients/edit?id=${seeded.own.id}` },
    {
      name: "member-client-added",
      role: "member",
      reach: async (page) => {
        await page.goto(`${app.url}/clients`);
        const uris = "https://my-app.example.com/callback";
        await submitForm(page, "/clients", { name: unique("My app"), redirect_uris: uris });
      },
    },
    {
      name: "member-client-form-error",
      role: "member",
      status: 400,
      reach: async (page) => {
        await page.goto(`${app.url}/clients`);
        await submitForm(page, "/clients", { name: unique("My app"), redirect_uris: "not a web address" });
      },
    },
    { name: "member-admin-refused", role: "member", status: 403, reach: "/admin/people" },
    { name: "member-device", role: "member", reach: "/device" },
    { name: "member-device-consent", role: "member", reach: deviceConsent },
    {
      name: "member-device-connected",
      role: "member",
      reach: async (page) => {
        await deviceConsent(page);
        await submitForm(page, "/device/consent", {}, 'button[value="allow"]');
      },
    },
    { name: "member-consent", role: "member", reach: (page) => page.goto(authorizeUrl(app, seeded.claude.id)) },
    // The questions before destructive actions (views/confirm.tsx), and a list saying what an action did.
    { name: "member-confirm-key-revoke", role: "member", reach: `/keys/${seeded.memberKeyId}/revoke` },
    { name: "member-confirm-key-rotate", role: "member", reach: `/keys/${seeded.memberKeyId}/rotate` },
    {
      name: "member-confirm-connection-revoke",
      role: "member",
      reach: `/connections/${seeded.memberConnectionId}/revoke`,
    },
    { name: "member-confirm-client-delete", role: "member", reach: `/clients/delete?id=${seeded.own.id}` },
    {
      name: "member-keys-after-revoking",
      role: "member",
      reach: async (page) => {
        await page.goto(`${app.url}/keys`);
        await submitForm(page, "/keys", { name: unique("short-lived"), expires_in: "7d" });
        const id = /gate_key_([a-z2-7]{16})_/.exec(await page.locator("#new-key").inputValue())![1];
        await page.goto(`${app.url}/keys/${id}/revoke`);
        await clickAndLoad(page, page.getByRole("button", { name: "Revoke key" }));
      },
    },

    { name: "admin-keys", role: "admin", reach: "/keys" },
    { name: "admin-activity", role: "admin", reach: "/activity" },
    { name: "admin-clients", role: "admin", reach: "/clients" },
    { name: "admin-people", role: "admin", reach: "/admin/people" },
    {
      name: "admin-invitation-created",
      role: "admin",
      reach: async (page) => {
        await page.goto(`${app.url}/admin/people`);
        await submitForm(page, "/admin/people/invite", { email: `${unique("colleague")}@example.com` });
      },
    },
    { name: "admin-service-accounts", role: "admin", reach: "/admin/service-accounts" },
    {
      name: "admin-service-account-created",
      role: "admin",
      reach: async (page) => {
        await page.goto(`${app.url}/admin/service-accounts`);
        await submitForm(page, "/admin/service-accounts", { name: unique("nightly-sync") });
      },
    },
    { name: "admin-all-clients", role: "admin", reach: "/admin/clients" },
    { name: "admin-client-edit", role: "admin", reach: `/admin/clients/edit?id=${seeded.claude.id}` },
    {
      name: "admin-client-added",
      role: "admin",
      reach: async (page) => {
        await page.goto(`${app.url}/admin/clients`);
        const uris = "https://tools.example.com/callback";
        const fields = { name: unique("Team tool"), redirect_uris: uris, type: "client_secret_basic" };
        await submitForm(page, "/admin/clients", fields);
      },
    },
    { name: "admin-upstreams", role: "admin", reach: "/admin/upstreams" },
    { name: "admin-audit", role: "admin", reach: "/admin/audit" },
    { name: "admin-audit-filtered", role: "admin", reach: "/admin/audit?outcome=denied" },
    { name: "admin-consent", role: "admin", reach: (page) => page.goto(authorizeUrl(app, seeded.claude.id)) },
    { name: "admin-confirm-disable", role: "admin", reach: `/admin/people/${seeded.memberId}/disable` },
    {
      name: "admin-confirm-invitation-revoke",
      role: "admin",
      reach: `/admin/invitations/${seeded.pendingInvitationId}/revoke`,
    },
    {
      name: "admin-confirm-service-account-secret",
      role: "admin",
      reach: `/admin/service-accounts/${seeded.serviceAccountId}/secret`,
    },
    {
      name: "admin-confirm-service-account-delete",
      role: "admin",
      reach: `/admin/service-accounts/${seeded.serviceAccountId}/delete`,
    },
    { name: "admin-confirm-client-secret", role: "admin", reach: `/admin/clients/secret?id=${seeded.editor.id}` },
    { name: "admin-confirm-client-delete", role: "admin", reach: `/admin/clients/delete?id=${seeded.claude.id}` },

    { name: "key-session-keys", role: "key-session", reach: "/keys" },
    { name: "key-session-clients-refused", role: "key-session", status: 403, reach: "/clients" },
  ];

  const names = stops.map((s) => s.name);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length) throw new Error(`stop names must be unique: ${repeated.join(", ")}`);

  const tour: Tour = {
    app,
    fresh,
    stops,
    async open(browser, role, viewport, scheme) {
      const context = await browser.newContext({ viewport, colorScheme: scheme });
      const page = await context.newPage();
      if (role === "member" || role === "admin") {
        await page.goto(`${app.url}/sign-in`);
        await submitSignIn(page, people[role], password);
      } else if (role === "key-session") {
        await page.goto(`${app.url}/sign-in`);
        await submitForm(page, "/sign-in/key", { api_key: seeded.memberKeyToken });
      }
      return { context, page };
    },
    async visit(page, stop) {
      // The status of the last document the tab loaded: after redirects and form posts, the page shown.
      let last: Response | null = null;
      const onResponse = (response: Response) => {
        if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) last = response;
      };
      page.on("response", onResponse);
      try {
        if (typeof stop.reach === "string") await page.goto(app.url + stop.reach);
        else await stop.reach(page);
      } finally {
        page.off("response", onResponse);
      }
      return (last as Response | null)?.status() ?? null;
    },
    async close() {
      await app.close();
      await fresh.close();
      rmSync(configDir, { recursive: true, force: true });
    },
  };
  return tour;
}
