import { SQL } from "bun";
import { afterEach, describe, expect, test } from "bun:test";
import { eq, type SQLWrapper, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sql";
import { oauthGrants as pgGrants } from "../../src/db/schema-pg.ts";
import type { Store } from "../../src/db/store.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { findApiKeyWithUser, listLiveApiKeys } from "../../src/keys/api-keys-store.ts";
import type { ArgumentLimits } from "../../src/mcp/argument-gates.ts";
import { findAuthorization, listLiveAuthorizations } from "../../src/oauth/authorizations-store.ts";
import { setConnectionLimits } from "../../src/oauth/connections.ts";
import { createTestApp, type TestApp } from "../helpers.ts";
import { nowSeconds } from "../support/clock.ts";
import { makeClient, makeConnection, makeUser } from "../support/factories.ts";
import { onPostgres } from "../support/store.ts";

// The JSON columns (api_keys and oauth_grants: tools, argument_limits) hold
// JSON arrays and objects in the database itself, not only through Drizzle:
// on PostgreSQL they are jsonb, and a value stored as a JSON *string* holding
// the encoded array (drizzle-team/drizzle-orm#4942) reads back alike through
// Drizzle but is a string to every jsonb operator, to the app's own
// dialectSql.jsonText and to anything else reading the database. On SQLite
// the same reads go through its JSON functions (json_type, ->, ->>).

const tools = ["search", "fetch"];
const limits: ArgumentLimits = { search: { query: ["docs/*", "wiki/*"] } };

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** The JSON type of a column's value as the database sees it: 'array', 'object', 'string', … */
const jsonType = (column: SQLWrapper) => (onPostgres ? sql`jsonb_typeof(${column})` : sql`json_type(${column})`);

/** The SQL facts of an api_keys or oauth_grants row's JSON columns. */
function jsonFacts(db: Store, table: "apiKeys" | "oauthGrants", id: string) {
  const t = db.tables[table];
  return db
    .select({
      toolsType: jsonType(t.tools),
      firstTool: sql<string>`${t.tools} ->> 0`,
      limitsType: jsonType(t.argumentLimits),
      firstQueryGlob: sql<string>`${t.argumentLimits} -> 'search' -> 'query' ->> 1`,
      searchLimits: db.dialectSql.jsonText(t.argumentLimits, "search"),
      limitsAreNull: sql<boolean>`${t.argumentLimits} IS NULL`,
    })
    .from(t)
    .where(eq(t.id, id))
    .then(([row]) => ({ ...row!, limitsAreNull: Boolean(row!.limitsAreNull) }));
}

const stored = {
  toolsType: "array",
  firstTool: "search",
  limitsType: "object",
  firstQueryGlob: "wiki/*",
  limitsAreNull: false,
};

describe("JSON columns hold JSON arrays and objects in the database", () => {
  test("an API key's tools and argument limits: typed in SQL, and read back as written", async () => {
    app = await createTestApp({ listen: false });
    const user = await makeUser(app);
    const { apiKey } = await createApiKey(app.db, {
      userId: user.id,
      name: "Laptop",
      access: "full",
      tools,
      argumentLimits: limits,
      expiresInSeconds: null,
      now: nowSeconds(),
    });

    const facts = await jsonFacts(app.db, "apiKeys", apiKey.id);
    expect(facts).toMatchObject(stored);
    expect(JSON.parse(String(facts.searchLimits))).toEqual(limits.search);
    // Read back through a prepared statement (the bearer check's) and a plain query.
    const found = await findApiKeyWithUser(app.db, apiKey.id);
    expect(found?.apiKey.tools).toEqual(tools);
    expect(found?.apiKey.argumentLimits).toEqual(limits);
    const [listed] = await listLiveApiKeys(app.db, user.id);
    expect(listed?.apiKey).toMatchObject({ tools, argumentLimits: limits });

    // A read-only key records no tools: the empty array, not SQL NULL (which is every tool).
    const { apiKey: readOnly } = await createApiKey(app.db, {
      userId: user.id,
      name: "Reader",
      access: "read",
      expiresInSeconds: null,
      now: nowSeconds(),
    });
    expect(await jsonFacts(app.db, "apiKeys", readOnly.id)).toMatchObject({
      toolsType: "array",
      firstTool: null,
      limitsAreNull: true,
    });
    expect((await findApiKeyWithUser(app.db, readOnly.id))?.apiKey.tools).toEqual([]);
  });

  test("a connection's tools and argument limits: inserted, updated and set to SQL NULL", async () => {
    app = await createTestApp({ listen: false });
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { authorization } = await makeConnection(app, { userId: user.id, clientId: client.id, tools });
    await setConnectionLimits(app.db, authorization.id, limits);

    const facts = await jsonFacts(app.db, "oauthGrants", authorization.id);
    expect(facts).toMatchObject(stored);
    expect(JSON.parse(String(facts.searchLimits))).toEqual(limits.search);
    expect((await findAuthorization(app.db, authorization.id))?.argumentLimits).toEqual(limits);
    const [listed] = await listLiveAuthorizations(app.db, user.id);
    expect(listed?.authorization).toMatchObject({ tools, argumentLimits: limits });

    // No limits is SQL NULL, not the JSON value null.
    await setConnectionLimits(app.db, authorization.id, null);
    expect(await jsonFacts(app.db, "oauthGrants", authorization.id)).toMatchObject({
      limitsType: null,
      limitsAreNull: true,
    });
    expect((await findAuthorization(app.db, authorization.id))?.argumentLimits).toBeNull();
  });

  test.skipIf(!onPostgres)("on PostgreSQL, jsonb containment sees the array's elements", async () => {
    app = await createTestApp({ listen: false });
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { authorization } = await makeConnection(app, { userId: user.id, clientId: client.id, tools });
    const { oauthGrants } = app.db.tables;
    const [row] = await app.db
      .select({ hasFetch: sql<boolean>`${oauthGrants.tools} @> '["fetch"]'::jsonb` })
      .from(oauthGrants)
      .where(eq(oauthGrants.id, authorization.id));
    expect(row?.hasFetch).toBe(true);
  });

  test.skipIf(!onPostgres)("on PostgreSQL, a connection without prepared statements stores them alike", async () => {
    app = await createTestApp({ listen: false });
    const user = await makeUser(app);
    const { client } = await makeClient(app);
    const { authorization } = await makeConnection(app, { userId: user.id, clientId: client.id });
    // Bun sends a string parameter as it is when it has not prepared the statement (prepare: false, as
    // behind a pooler in transaction mode), and as a JSON string when it has: the value must not be one.
    const unprepared = new SQL(app.databaseEnv.GATEHOUSE_DATABASE_URL!, { max: 1, prepare: false });
    try {
      const db = drizzle({ client: unprepared });
      await db.update(pgGrants).set({ tools, argumentLimits: limits }).where(eq(pgGrants.id, authorization.id));
      const [row] = await db
        .select({ tools: pgGrants.tools, argumentLimits: pgGrants.argumentLimits })
        .from(pgGrants)
        .where(eq(pgGrants.id, authorization.id));
      expect(row).toEqual({ tools, argumentLimits: limits });
    } finally {
      await unprepared.close();
    }
    expect(await jsonFacts(app.db, "oauthGrants", authorization.id)).toMatchObject(stored);
  });
});
