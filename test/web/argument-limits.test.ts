import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { first } from "../../src/db/transaction.ts";
import { eq } from "drizzle-orm";
import { createUser } from "../../src/accounts/users.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { permissionDeniedCode } from "../../src/mcp/permission-denied.ts";
import { listConnections } from "../../src/oauth/connections.ts";
import { parsePolicies } from "../../src/mcp/policy-config.ts";
import { detailOf, onlyAuditRow } from "../audit/fixture.ts";
import { startHttpUpstream, type HttpUpstream } from "../gateway/http-upstream.ts";
import { waitFor } from "../gateway/upstreams.ts";
import { connectClient } from "../mcp/fixture.ts";
import { authorizePath, locationOf, openConsent } from "../oauth/authorize-fixture.ts";
import { startDeviceFlow } from "../oauth/device-fixture.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { exchangeCode, makeClient, makeCode } from "../oauth/token-fixture.ts";

// Argument limits on the web: the keys page's box when creating a key, the
// key and connection rows that show them, a connection's limits changed
// after approval (and /mcp judging its very next call by them), key
// sessions that cannot widen them, and the consent page showing the admin
// policy that will apply.

const password = "correct horse battery staple";
const store = "web__store";
const revoke = "gatehouse__revoke_connection";
const now = () => Math.floor(Date.now() / 1000);

let upstream: HttpUpstream;
let app: TestApp;
let kay: { id: string; b: Browser };
beforeAll(async () => {
  upstream = startHttpUpstream();
  const toml = `[[upstream]]\nname = "web"\nurl = "${upstream.url}"\n\n[[policy]]\ntool = "web__store"\nargument = "text"\nallow = ["team-*"]\npeople = ["kay@example.com"]\n`;
  app = await createTestApp({
    gateway: parseGatewayConfig("test.toml", toml, {}),
    policies: parsePolicies("test.toml", toml),
  });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
  const created = await createUser(app.db, {
    email: "kay@example.com",
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: false,
    now: now(),
  });
  kay = { id: created.id, b: await signIn(null) };
});
afterAll(async () => {
  await app.close();
  upstream.stop();
});

/** A browser signed in by pasting `token`, or with Kay's password. */
async function signIn(token: string | null): Promise<Browser> {
  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  const res =
    token === null
      ? await b.post("/sign-in", { csrf, email: "kay@example.com", password })
      : await b.post("/sign-in/key", { csrf, api_key: token });
  expect(res.status).toBe(303);
  return b;
}

async function post(b: Browser, path: string, fields: [string, string][]) {
  const csrf = Browser.csrfOf(await (await b.get("/keys")).text());
  const body = new URLSearchParams([["csrf", csrf], ...fields]);
  const res = await b.request(path, {
    method: "POST",
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: app.url },
  });
  return { res, html: await res.text() };
}

const createKey = (b: Browser, name: string, fields: [string, string][]) =>
  post(b, "/keys", [["name", name], ["expires_in", "never"], ...fields]);
async function keyNamed(name: string) {
  const { apiKeys } = app.db.tables;
  return first(await app.db.select().from(apiKeys).where(eq(apiKeys.name, name)).limit(1));
}
async function grantRow(id: string) {
  const { oauthGrants } = app.db.tables;
  return first(await app.db.select().from(oauthGrants).where(eq(oauthGrants.id, id)).limit(1))!;
}
const stripped = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");

/** A connection of Kay's to a new client, with tokens from the real token endpoint. */
async function kaysConnection(tools: string[] | null = null) {
  const { client } = await makeClient(app, { name: "Cursor" });
  const { authorization, code } = await makeCode(app, { userId: kay.id, clientId: client.id, tools });
  return { authorization, tokens: await exchangeCode(app, client.id, code) };
}

describe("creating a key with argument limits on the keys page", () => {
  test("the lines are recorded and the key's row shows them under its write tools", async () => {
    const { res } = await createKey(kay.b, "limited", [
      ["access", "full"],
      ["argument_limits", `${store}:text=acme/*\r\n${store}:text=labs/x\r\n`],
    ]);
    expect(res.status).toBe(200);
    const key = (await keyNamed("limited"))!;
    expect(key.argumentLimits).toEqual({ [store]: { text: ["acme/*", "labs/x"] } });
    const row = new RegExp(`<tr data-key-id="${key.id}">([\\s\\S]*?)</tr>`).exec(
      await (await kay.b.get("/keys")).text(),
    )![1]!;
    expect(stripped(row)).toContain(`All Argument limits: ${store} only where text matches acme/* or labs/x`);
  });

  test("a malformed line is refused with why, the form keeps what was typed, no key", async () => {
    const { res, html } = await createKey(kay.b, "bad-line", [
      ["access", "full"],
      ["argument_limits", `${store}:text=ok\n${store} text acme`],
    ]);
    expect(res.status).toBe(400);
    expect(html).toContain(`Line 2 (&quot;${store} text acme&quot;) must be tool:argument=pattern`);
    expect(html).toContain(`${store}:text=ok`);
    expect(await keyNamed("bad-line")).toBeNull();
  });

  test("a tool the key may not call is refused", async () => {
    const { res, html } = await createKey(kay.b, "outside", [
      ["access", "chosen"],
      ["tool", revoke],
      ["argument_limits", `${store}:text=x`],
    ]);
    expect(res.status).toBe(400);
    expect(html).toContain(`${store} is not a write tool this access may call`);
    expect(await keyNamed("outside")).toBeNull();
  });

  test("Read-only takes no limits", async () => {
    const { res, html } = await createKey(kay.b, "ro", [
      ["access", "read"],
      ["argument_limits", `${store}:text=x`],
    ]);
    expect(res.status).toBe(400);
    expect(html).toContain("Read-only access calls no write tool, so it takes no argument limits.");
  });
});

describe("a session opened with a key that has limits", () => {
  // Each test's parent key has its own name: a person's live keys have different names.
  let parents = 0;
  const parentKey = () =>
    createApiKey(app.db, {
      userId: kay.id,
      name: `parent ${++parents}`,
      access: "full",
      argumentLimits: { [store]: { text: ["acme/*"] } },
      expiresInSeconds: null,
      now: now(),
    });

  test("a key made in it inherits the limits when none are typed", async () => {
    const b = await signIn((await parentKey()).token);
    expect((await createKey(b, "child-silent", [["access", "full"]])).res.status).toBe(200);
    expect((await keyNamed("child-silent"))!.argumentLimits).toEqual({ [store]: { text: ["acme/*"] } });
  });

  test("may narrow them to a plain value, never widen them", async () => {
    const b = await signIn((await parentKey()).token);
    expect(
      (
        await createKey(b, "child-narrow", [
          ["access", "full"],
          ["argument_limits", `${store}:text=acme/widgets`],
        ])
      ).res.status,
    ).toBe(200);
    expect((await keyNamed("child-narrow"))!.argumentLimits).toEqual({ [store]: { text: ["acme/widgets"] } });
    const wide = await createKey(b, "child-wide", [
      ["access", "full"],
      ["argument_limits", `${store}:text=*`],
    ]);
    expect(wide.res.status).toBe(400);
    expect(wide.html).toContain("The API key you signed in with has narrower argument limits");
    expect(await keyNamed("child-wide")).toBeNull();
  });

  test("a connection approved in it gets the key's limits, and the consent page says so", async () => {
    const { oauthGrants } = app.db.tables;
    const b = await signIn((await parentKey()).token);
    const { client } = await makeClient(app, { name: "Claude" });
    const consent = await openConsent(b, authorizePath(client.id, { redirect_uri: client.redirectUris[0]! }));
    expect(stripped(consent.html)).toContain(
      `From the API key you signed in with; you can change them on the API keys page afterwards, within the key's: ${store} only where text matches acme/*`,
    );
    const res = await b.post("/oauth/authorize", {
      csrf: consent.csrf,
      request: consent.request,
      decision: "allow",
      access: "full",
    });
    expect(res.status).toBe(302);
    expect(locationOf(res).query.code).toBeDefined();
    const authorization = first(
      await app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, client.id)).limit(1),
    )!;
    expect(authorization.argumentLimits).toEqual({ [store]: { text: ["acme/*"] } });
  });
});

describe("the consent page shows the admin policy that will apply", () => {
  test("to Kay, whom the policy names", async () => {
    const { client } = await makeClient(app, { name: "Claude" });
    const consent = await openConsent(kay.b, authorizePath(client.id, { redirect_uri: client.redirectUris[0]! }));
    expect(stripped(consent.html)).toContain(
      `Set for you by an admin of this Gatehouse: ${store} only where text matches team-*`,
    );
  });
});

describe("changing a connection's limits after approval", () => {
  test("the new limits are stored, shown, audited, and judge the very next call of its token", async () => {
    const { authorization, tokens } = await kaysConnection();
    const mcp = await connectClient(app, tokens.access_token);
    // The policy names Kay: team-* only. Within it the connection has no limit of its own yet.
    expect((await mcp.callTool({ name: store, arguments: { text: "team-b" } })).isError).toBeFalsy();
    const { res } = await post(kay.b, `/connections/${authorization.id}/limits`, [
      ["argument_limits", `${store}:text=team-a*`],
    ]);
    expect(res.status).toBe(303);
    expect((await grantRow(authorization.id)).argumentLimits).toEqual({ [store]: { text: ["team-a*"] } });
    const refused = (await mcp.callTool({ name: store, arguments: { text: "team-b" } }).catch((e: unknown) => e)) as {
      code?: number;
      data?: Record<string, unknown>;
    };
    expect([refused.code, refused.data?.missing]).toEqual([permissionDeniedCode, "argument:text"]);
    expect((await mcp.callTool({ name: store, arguments: { text: "team-abc" } })).isError).toBeFalsy();
    const row = new RegExp(`<tr data-connection-id="${authorization.id}">([\\s\\S]*?)</tr>`).exec(
      await (await kay.b.get("/keys")).text(),
    )![1]!;
    expect(stripped(row)).toContain(`${store} only where text matches team-a*`);
    expect(row).toContain(`${store}:text=team-a*</textarea>`);
    const audit = await onlyAuditRow(app, { event: "connection_limits_changed", grantId: authorization.id });
    expect(detailOf(audit)).toEqual({ argument_limits: { [store]: { text: ["team-a*"] } }, via: "web" });
  });

  test("saving redirects to /keys, which says so once", async () => {
    const { authorization } = await kaysConnection();
    const { res } = await post(kay.b, `/connections/${authorization.id}/limits`, [
      ["argument_limits", `${store}:text=x`],
    ]);
    expect([res.status, res.headers.get("location")]).toEqual([303, "/keys"]);
    const name = (await listConnections(app.db, kay.id)).find((c) => c.id === authorization.id)!.name;
    expect(await (await kay.b.get("/keys")).text()).toContain(
      `<p class="flash" role="status">Saved the argument limits of “${name}”.</p>`,
    );
    expect(await (await kay.b.get("/keys")).text()).not.toContain('class="flash"');
  });

  test("an empty box removes them", async () => {
    const { oauthGrants } = app.db.tables;
    const { authorization } = await kaysConnection();
    await app.db
      .update(oauthGrants)
      .set({ argumentLimits: { [store]: { text: ["x"] } } })
      .where(eq(oauthGrants.id, authorization.id));
    expect((await post(kay.b, `/connections/${authorization.id}/limits`, [["argument_limits", ""]])).res.status).toBe(
      303,
    );
    expect((await grantRow(authorization.id)).argumentLimits).toBeNull();
  });

  test("a bad line is shown again in the row's form with why; nothing changes", async () => {
    const { authorization } = await kaysConnection();
    const { res, html } = await post(kay.b, `/connections/${authorization.id}/limits`, [
      ["argument_limits", "nonsense"],
    ]);
    expect(res.status).toBe(400);
    expect(html).toContain('<details class="edit-limits" open>');
    expect(html).toContain("must be tool:argument=pattern");
    expect((await grantRow(authorization.id)).argumentLimits).toBeNull();
  });

  test("someone else's connection is 404", async () => {
    const other = await createUser(app.db, { email: "zed@example.com", password: null, isAdmin: false, now: now() });
    const { client } = await makeClient(app);
    const { authorization } = await makeCode(app, { userId: other.id, clientId: client.id, tools: null });
    expect(
      (await post(kay.b, `/connections/${authorization.id}/limits`, [["argument_limits", `${store}:text=x`]])).res
        .status,
    ).toBe(404);
    expect((await grantRow(authorization.id)).argumentLimits).toBeNull();
  });

  test("a form without the form token is refused (403)", async () => {
    const { authorization } = await kaysConnection();
    const body = new URLSearchParams({ argument_limits: `${store}:text=x` });
    const res = await kay.b.request(`/connections/${authorization.id}/limits`, {
      method: "POST",
      body: body.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", origin: app.url },
    });
    expect(res.status).toBe(403);
    expect((await grantRow(authorization.id)).argumentLimits).toBeNull();
  });
});

describe("rotating in a session opened with a key that has limits", () => {
  test("a key of Kay's without those limits is beyond the session's key: 403, not rotated", async () => {
    const { apiKeys } = app.db.tables;
    const parent = await createApiKey(app.db, {
      userId: kay.id,
      name: "rot-parent",
      access: "full",
      argumentLimits: { [store]: { text: ["acme/*"] } },
      expiresInSeconds: null,
      now: now(),
    });
    const wide = await createApiKey(app.db, {
      userId: kay.id,
      name: "rot-wide",
      access: "full",
      expiresInSeconds: null,
      now: now(),
    });
    const b = await signIn(parent.token);
    const { res } = await post(b, `/keys/${wide.apiKey.id}/rotate`, []);
    expect(res.status).toBe(403);
    expect(
      first(await app.db.select().from(apiKeys).where(eq(apiKeys.id, wide.apiKey.id)).limit(1))!.revokedAt,
    ).toBeNull();
  });
});

describe("the device flow's consent", () => {
  test("shows the admin policy and the session key's limits, and the grant inherits the key's", async () => {
    const { oauthGrants } = app.db.tables;
    const parent = await createApiKey(app.db, {
      userId: kay.id,
      name: "tv-parent",
      access: "full",
      argumentLimits: { [store]: { text: ["team-tv"] } },
      expiresInSeconds: null,
      now: now(),
    });
    const b = await signIn(parent.token);
    const { client } = await makeClient(app, { name: "Living room TV" });
    const started = await startDeviceFlow(app, client.id, { scope: "mcp:read mcp:write" });
    const csrf = Browser.csrfOf(await (await b.get("/device")).text());
    const page = await (await b.post("/device", { csrf, user_code: started.user_code })).text();
    expect(stripped(page)).toContain(
      `Set for you by an admin of this Gatehouse: ${store} only where text matches team-*`,
    );
    expect(stripped(page)).toContain(`within the key's: ${store} only where text matches team-tv`);
    const res = await b.post("/device/consent", {
      csrf: Browser.csrfOf(page),
      request: started.user_code,
      decision: "allow",
      access: "full",
    });
    expect(res.status).toBe(200);
    const authorization = first(
      await app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, client.id)).limit(1),
    )!;
    expect(authorization.argumentLimits).toEqual({ [store]: { text: ["team-tv"] } });
  });
});
