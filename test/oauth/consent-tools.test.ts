import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { first } from "../../src/db/transaction.ts";
import { parseGatewayConfig } from "../../src/gateway/config.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { startHttpUpstream, type HttpUpstream } from "../gateway/http-upstream.ts";
import { createTestApp, type Browser, type TestApp } from "../helpers.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  addClient,
  addUser,
  authorizePath,
  browserOf,
  locationOf,
  nowSeconds,
  openConsent,
} from "./authorize-fixture.ts";

// The consent page's access choice (issue 10, point 5): Read-only; Full
// (every write tool, also ones added later); Full with only the ticked
// write tools, grouped by upstream. Full is chosen when the app asks for
// mcp:write, so Allow as served succeeds. Refusals keep the request pending.

const store = "web__store";
const slow = "web__slow";
const revoke = "gatehouse__revoke_connection";

let upstream: HttpUpstream;
let app: TestApp;
let userId: string;
let b: Browser;
beforeAll(async () => {
  upstream = startHttpUpstream();
  // `slow` made a write tool, so the web group has two and gets a tick-all.
  const config = `[[upstream]]\nname = "web"\nurl = "${upstream.url}"\nwrite = ["slow"]\n`;
  app = await createTestApp({ gateway: parseGatewayConfig("test.toml", config, {}), listen: false });
  await waitFor(() => app.gateway!.statuses().every((s) => s.state === "connected"));
  userId = await addUser(app);
  b = await browserOf(app, userId);
});
afterAll(async () => {
  await app.close();
  upstream.stop();
});

const grantsOf = async (clientId: string) => {
  const { oauthGrants } = app.db.tables;
  return app.db.select().from(oauthGrants).where(eq(oauthGrants.clientId, clientId));
};
const pendingRow = async (id: string) => {
  const { oauthPendingRequests } = app.db.tables;
  return first(await app.db.select().from(oauthPendingRequests).where(eq(oauthPendingRequests.id, id)).limit(1));
};
const boxes = (html: string, name: string) =>
  [...html.matchAll(new RegExp(`<input type="checkbox" name="${name}" value="([^"]+)"([^>]*)>`, "g"))].map((m) => ({
    value: m[1],
    checked: /checked/.test(m[2]!),
  }));
const radios = (html: string) =>
  [...html.matchAll(/<input type="radio" name="access" value="([a-z]+)"([^>]*)>/g)].map((m) => ({
    value: m[1],
    checked: /checked/.test(m[2]!),
  }));

/** Opens a fresh client's consent page and posts the answer; `fields` may repeat names (tool, tool_group). */
async function answer(fields: [string, string][], browser = b) {
  const c = await addClient(app);
  const page = await openConsent(browser, authorizePath(c.id));
  const body = new URLSearchParams([["csrf", page.csrf], ["request", page.request], ...fields]);
  const res = await browser.request("/oauth/authorize", {
    method: "POST",
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: app.url },
  });
  return { c, page, res };
}

describe("the consent page", () => {
  test("offers Read-only, Full and Full with ticked tools, with Full chosen and nothing ticked", async () => {
    const { html } = await openConsent(b, authorizePath((await addClient(app)).id));
    expect(radios(html)).toEqual([
      { value: "read", checked: false },
      { value: "full", checked: true },
      { value: "chosen", checked: false },
    ]);
    expect(html).toContain("every tool, also write tools added later");
    expect(boxes(html, "tool")).toEqual([
      { value: revoke, checked: false },
      { value: store, checked: false },
      { value: slow, checked: false },
    ]);
  });

  test("groups the write tools by upstream, with a tick-all for a group of several", async () => {
    const { html } = await openConsent(b, authorizePath((await addClient(app)).id));
    const legends = [...html.matchAll(/<fieldset class="tool-group"><legend>([^<]+)<\/legend>/g)].map((m) => m[1]);
    expect(legends).toEqual(["Gatehouse", "web"]);
    expect(boxes(html, "tool_group")).toEqual([{ value: "web", checked: false }]);
    expect(html).toContain("All 2 write tools of web");
  });

  test("offers Read-only alone when only mcp:read is requested", async () => {
    const { html } = await openConsent(b, authorizePath((await addClient(app)).id, { scope: "mcp:read" }));
    expect(radios(html)).toEqual([{ value: "read", checked: true }]);
    expect(html).not.toContain('id="write-tools"');
  });

  test("a session opened with a key limited to web__store offers only it, ticked, and no plain Full", async () => {
    const key = await createApiKey(app.db, {
      userId,
      name: "limited",
      access: "full",
      tools: [store],
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const { html } = await openConsent(
      await browserOf(app, userId, key.apiKey.id),
      authorizePath((await addClient(app)).id),
    );
    expect(radios(html)).toEqual([
      { value: "read", checked: false },
      { value: "chosen", checked: true },
    ]);
    expect(boxes(html, "tool")).toEqual([{ value: store, checked: true }]);
    expect(html).toContain("limited to some write tools");
  });
});

describe("what the grant records", () => {
  test("Allow as served (Full) records every write tool, also ones added later", async () => {
    const { c, res } = await answer([
      ["decision", "allow"],
      ["access", "full"],
    ]);
    expect(locationOf(res).query.code).toStartWith("gate_code_");
    expect((await grantsOf(c.id)).map((g) => [g.scope, g.tools])).toEqual([["mcp:read mcp:write", null]]);
  });

  test("Full with only the ticked tools records exactly those", async () => {
    const { c, res } = await answer([
      ["decision", "allow"],
      ["access", "chosen"],
      ["tool", store],
    ]);
    expect(res.status).toBe(302);
    expect((await grantsOf(c.id)).map((g) => [g.scope, g.tools])).toEqual([["mcp:read mcp:write", [store]]]);
  });

  test("a group's tick-all grants the group's tools, without script", async () => {
    const { c } = await answer([
      ["decision", "allow"],
      ["access", "chosen"],
      ["tool_group", "web"],
    ]);
    expect((await grantsOf(c.id))[0]!.tools).toEqual([store, slow]);
  });

  test("tools ticked twice are recorded once, in the page's order", async () => {
    const { c } = await answer([
      ["decision", "allow"],
      ["access", "chosen"],
      ["tool", store],
      ["tool", revoke],
      ["tool", store],
    ]);
    expect((await grantsOf(c.id))[0]!.tools).toEqual([revoke, store]);
  });

  test("Read-only records no tools, even when tools were posted", async () => {
    const { c, res } = await answer([
      ["decision", "allow"],
      ["access", "read"],
      ["tool", store],
    ]);
    expect(res.status).toBe(302);
    expect((await grantsOf(c.id)).map((g) => [g.scope, g.tools])).toEqual([["mcp:read", []]]);
  });

  test("Full ignores ticked tools: every write tool", async () => {
    const { c } = await answer([
      ["decision", "allow"],
      ["access", "full"],
      ["tool", store],
    ]);
    expect((await grantsOf(c.id))[0]!.tools).toBeNull();
  });
});

describe("refusals keep the request pending", () => {
  test("an unknown tool name is refused on the page again, escaped, with no grant and no redirect", async () => {
    const { c, page, res } = await answer([
      ["decision", "allow"],
      ["access", "chosen"],
      ["tool", store],
      ["tool", "evil__<b>tool</b>"],
    ]);
    const html = await res.text();
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(html).toContain("Gatehouse has no write tool named evil__&lt;b&gt;tool&lt;/b&gt;.");
    expect(await grantsOf(c.id)).toHaveLength(0);
    expect(await pendingRow(page.request)).not.toBeNull();
  });

  test("a read tool posted as a write tool is refused too", async () => {
    const { c, res } = await answer([
      ["decision", "allow"],
      ["access", "chosen"],
      ["tool", "web__lookup"],
    ]);
    expect(res.status).toBe(400);
    expect(await grantsOf(c.id)).toHaveLength(0);
  });

  test("a session key limited to web__store: Full and other tools are refused, its own tool is granted", async () => {
    const key = await createApiKey(app.db, {
      userId,
      name: "limited to store",
      access: "full",
      tools: [store],
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const limited = await browserOf(app, userId, key.apiKey.id);
    const full = await answer(
      [
        ["decision", "allow"],
        ["access", "full"],
      ],
      limited,
    );
    expect(full.res.status).toBe(400);
    expect(await grantsOf(full.c.id)).toHaveLength(0);
    const other = await answer(
      [
        ["decision", "allow"],
        ["access", "chosen"],
        ["tool", revoke],
      ],
      limited,
    );
    expect(other.res.status).toBe(400);
    expect(await other.res.text()).toContain(`no write tool named ${revoke}`);
    const own = await answer(
      [
        ["decision", "allow"],
        ["access", "chosen"],
        ["tool", store],
      ],
      limited,
    );
    expect(own.res.status).toBe(302);
    expect((await grantsOf(own.c.id)).map((g) => [g.tools, g.apiKeyId])).toEqual([[[store], key.apiKey.id]]);
  });

  test("a Read-only key's session posting Full is refused; Read-only is granted", async () => {
    const key = await createApiKey(app.db, {
      userId,
      name: "ro",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const ro = await browserOf(app, userId, key.apiKey.id);
    const full = await answer(
      [
        ["decision", "allow"],
        ["access", "full"],
      ],
      ro,
    );
    expect(full.res.status).toBe(400);
    expect(await grantsOf(full.c.id)).toHaveLength(0);
    const read = await answer(
      [
        ["decision", "allow"],
        ["access", "read"],
      ],
      ro,
    );
    expect((await grantsOf(read.c.id)).map((g) => [g.scope, g.tools])).toEqual([["mcp:read", []]]);
  });

  test("only ticked tools with nothing ticked redraws the page with an error, keeping the choice, for the same request", async () => {
    const { c, page, res } = await answer([
      ["decision", "allow"],
      ["access", "chosen"],
    ]);
    const html = await res.text();
    expect(res.status).toBe(400);
    expect(html).toContain("Tick at least one write tool, or choose Full or Read-only.");
    expect(radios(html).find((r) => r.checked)?.value).toBe("chosen");
    expect(html).toContain(`name="request" value="${page.request}"`);
    expect(res.headers.get("content-security-policy")).toContain("form-action 'self' http://127.0.0.1:33418");
    expect(await grantsOf(c.id)).toHaveLength(0);
    expect(await pendingRow(page.request)).not.toBeNull();
  });

  test("after that redraw, ticking a tool and answering again is granted", async () => {
    const { c, page } = await answer([
      ["decision", "allow"],
      ["access", "chosen"],
    ]);
    const body = new URLSearchParams({
      csrf: page.csrf,
      request: page.request,
      decision: "allow",
      access: "chosen",
      tool: revoke,
    });
    const res = await b.request("/oauth/authorize", {
      method: "POST",
      body: body.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", origin: app.url },
    });
    expect(res.status).toBe(302);
    expect((await grantsOf(c.id)).map((g) => g.tools)).toEqual([[revoke]]);
  });

  test("Deny needs no access choice and records no grant", async () => {
    const { c, res } = await answer([["decision", "deny"]]);
    expect(locationOf(res).query.error).toBe("access_denied");
    expect(await grantsOf(c.id)).toHaveLength(0);
  });
});
