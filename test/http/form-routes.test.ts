import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { getTableName, is, sql, Table } from "drizzle-orm";
import { openSession } from "../../src/accounts/sessions.ts";
import { insertUser } from "../support/rows.ts";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import type { Store } from "../../src/db/store.ts";
import { createLogger } from "../../src/log.ts";
import { randomString } from "../../src/security/tokens.ts";
import { tempDir } from "../helpers.ts";
import { selectSql } from "../support/sql.ts";
import { openTestStore } from "../support/store.ts";

// Every route that changes state is a form, guarded by the route option
// `form` (src/http/page-guards.ts), unless it is named here. A new POST,
// PUT, PATCH or DELETE route must be one or the other.

/** Protocol endpoints called by clients, not browsers: they have no form token, and no cookies to forge with. */
const notForms = new Set([
  "POST /oauth/token",
  "POST /oauth/revoke",
  "POST /oauth/introspect",
  "POST /oauth/register",
  "POST /oauth/device_authorization",
  "POST /oauth/bridge/poll",
  "POST /mcp",
  "DELETE /mcp",
]);

const stateChanging = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const publicUrl = "http://127.0.0.1:8080";
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Every table of the schema, as one comparable value. */
async function snapshot(db: Store): Promise<string> {
  const tables = Object.values(db.tables).filter((value) => is(value, Table));
  const rows = await Promise.all(tables.map((table) => selectSql(db, sql`SELECT * FROM ${table}`)));
  return JSON.stringify(tables.map((table, i) => [getTableName(table), rows[i]]));
}

const dataDir = tempDir();
const store = await openTestStore(dataDir);
const { db } = store;
const config = loadConfig({ GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_PUBLIC_URL: publicUrl, ...store.env });

describe("every state-changing route", () => {
  const app = createApp({
    config,
    db,
    log: createLogger(() => {}),
    now: nowSeconds,
  });
  const routes = app.routes.map((r) => `${r.method} ${r.path}`);
  const forms = routes.filter((r) => stateChanging.has(r.split(" ")[0]!) && !notForms.has(r));
  // A signed-in admin whose browser holds a form token cookie: only the token in the form is missing.
  let cookie = "";

  beforeAll(async () => {
    const userId = randomString(10);
    await insertUser(db, {
      id: userId,
      email: "admin@example.com",
      passwordHash: null,
      isAdmin: true,
      createdAt: nowSeconds(),
      disabledAt: null,
    });
    const session = (await openSession(db, { userId, apiKeyId: null, apiKeyExpiresAt: null, now: nowSeconds() })).token;
    cookie = `gatehouse_session=${session}; gatehouse_csrf=${randomString(16)}`;
  });
  afterAll(async () => {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("every route named as not a form is registered", () => {
    for (const name of notForms) expect(routes).toContain(name);
  });

  test("the forms include the page forms", () => {
    for (const name of [
      "POST /sign-in",
      "POST /sign-out",
      "POST /keys",
      "POST /admin/people/invite",
      "POST /oauth/authorize",
      "POST /device/consent",
    ]) {
      expect(forms).toContain(name);
    }
  });

  for (const route of forms) {
    test(`${route} refuses a post without a form token (403) and changes nothing`, async () => {
      const [method, path] = route.split(" ") as [string, string];
      const url = publicUrl + path.replaceAll(/:\w+/g, "x").replaceAll("*", "x");
      const before = await snapshot(db);
      const res = await app.handle(
        new Request(url, {
          method,
          headers: { cookie, origin: publicUrl, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ name: "x", email: "someone@example.com", decision: "allow" }).toString(),
        }),
      );
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("Form refused");
      expect(await snapshot(db)).toBe(before);
    });
  }
});
