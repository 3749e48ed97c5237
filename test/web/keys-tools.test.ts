import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createUser } from "../../src/accounts/users.ts";
import { createApiKey, rotateApiKey } from "../../src/keys/api-keys.ts";
import { Browser, createTestApp, type TestApp } from "../helpers.ts";
import { makeClient, makeCode } from "../oauth/token-fixture.ts";
import { nowSeconds } from "../support/clock.ts";

// The API keys page: a Full key limited to chosen write tools, and each
// key's and connection's granted write tools shown in the lists.

const password = "correct horse battery staple";
const revoke = "gatehouse__revoke_connection";

let app: TestApp;
let user: { id: string; b: Browser };
beforeAll(async () => {
  app = await createTestApp({ listen: false });
  const created = await createUser(app.db, {
    email: "kay@example.com",
    password,
    passwordCost: app.config.passwordHashCost,
    isAdmin: false,
    now: nowSeconds(),
  });
  const b = new Browser(app.url, app.send);
  const csrf = Browser.csrfOf(await (await b.get("/sign-in")).text());
  expect((await b.post("/sign-in", { csrf, email: "kay@example.com", password })).status).toBe(303);
  user = { id: created.id, b };
});
afterAll(() => app.close());

/** Posts the create form with `tools` as repeated `tool` fields; returns the response and its page. */
async function create(fields: Record<string, string>, tools: string[] = []) {
  const csrf = Browser.csrfOf(await (await user.b.get("/keys")).text());
  const body = new URLSearchParams({ csrf, expires_in: "never", ...fields });
  for (const tool of tools) body.append("tool", tool);
  const res = await user.b.request("/keys", {
    method: "POST",
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: app.url },
  });
  return { res, html: await res.text() };
}

async function keyNamed(name: string) {
  const { apiKeys } = app.db.tables;
  return await app.db.select().from(apiKeys).where(eq(apiKeys.name, name));
}
/** The text of the write tools cell of a table row, tags stripped. */
async function toolsCell(attr: string, id: string): Promise<string | null> {
  const html = await (await user.b.get("/keys")).text();
  const row = new RegExp(`<tr ${attr}="${id}">([\\s\\S]*?)</tr>`).exec(html)?.[1];
  const cell = row && /<td class="write-tools-granted"[^>]*>([\s\S]*?)<\/td>/.exec(row)?.[1];
  return cell
    ? cell
        .replace(/<[^>]+>/g, " ")
        .replace(/\s+/g, " ")
        .trim()
    : null;
}

describe("creating a key limited to write tools", () => {
  test("the form offers Read-only (chosen), Full and Full with ticked tools, and every write tool unticked", async () => {
    const html = await (await user.b.get("/keys")).text();
    expect(html).toContain(`<input type="checkbox" name="tool" value="${revoke}"/>`);
    expect(html).toContain('<input type="radio" name="access" value="read" checked/>');
    expect(html).toContain('<input type="radio" name="access" value="full"/>');
    expect(html).toContain('<input type="radio" name="access" value="chosen"/>');
  });

  test("Full with the ticked tools records them and the list shows them", async () => {
    const { res } = await create({ name: "one-tool", access: "chosen" }, [revoke]);
    expect(res.status).toBe(200);
    const [row] = await keyNamed("one-tool");
    expect(row!.tools).toEqual([revoke]);
    expect(await toolsCell("data-key-id", row!.id)).toBe(revoke);
  });

  test("Full with every write tool records null and the list says All", async () => {
    await create({ name: "all-tools", access: "full" }, [revoke]);
    const [row] = await keyNamed("all-tools");
    expect(row!.tools).toBeNull();
    expect(await toolsCell("data-key-id", row!.id)).toBe("All");
  });

  test("Read-only records no tools and the list says None", async () => {
    await create({ name: "reader", access: "read" }, [revoke]);
    const [row] = await keyNamed("reader");
    expect(row!.tools).toEqual([]);
    expect(await toolsCell("data-key-id", row!.id)).toBe("None");
  });

  test("an unknown tool name is refused with the form again, and no key", async () => {
    const { res, html } = await create({ name: "bad-tool", access: "chosen" }, [revoke, "nope__x"]);
    expect(res.status).toBe(400);
    expect(html).toContain("Gatehouse has no write tool named nope__x.");
    expect(await keyNamed("bad-tool")).toHaveLength(0);
  });

  test("choosing only ticked tools but ticking none is refused", async () => {
    const { res, html } = await create({ name: "no-tool", access: "chosen" });
    expect(res.status).toBe(400);
    expect(html).toContain("Tick at least one write tool");
    expect(html).toContain('<input type="radio" name="access" value="chosen" checked/>');
    expect(await keyNamed("no-tool")).toHaveLength(0);
  });

  test("a rotated key keeps its tools", async () => {
    const { apiKey } = await createApiKey(app.db, {
      userId: user.id,
      name: "rotating",
      access: "full",
      tools: [revoke],
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    const rotated = (await rotateApiKey(app.db, { id: apiKey.id, ownerId: user.id, now: nowSeconds() }))!;
    expect(rotated.apiKey.tools).toEqual([revoke]);
  });
});

describe("connections show their granted write tools", () => {
  test("a connection granted one tool lists it; one from before per-tool grants says All", async () => {
    const { client } = await makeClient(app, { name: "Claude" });
    const limited = (await makeCode(app, { userId: user.id, clientId: client.id, tools: [revoke] })).authorization;
    const legacy = (await makeCode(app, { userId: user.id, clientId: client.id })).authorization;
    const reader = (await makeCode(app, { userId: user.id, clientId: client.id, scope: "mcp:read", tools: [] }))
      .authorization;
    expect(await toolsCell("data-connection-id", limited.id)).toBe(revoke);
    expect(await toolsCell("data-connection-id", legacy.id)).toBe("All");
    expect(await toolsCell("data-connection-id", reader.id)).toBe("None");
  });

  test("a Full connection with none of the write tools ticked says None, not an empty cell", async () => {
    const { client } = await makeClient(app, { name: "Claude, no writes" });
    const none = (await makeCode(app, { userId: user.id, clientId: client.id, tools: [] })).authorization;
    expect(await toolsCell("data-connection-id", none.id)).toBe("None");
  });
});
