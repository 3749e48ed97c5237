import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { loadConfig } from "../../src/config.ts";
import { openStore } from "../../src/db/open.ts";
import { closeStore, ping } from "../../src/db/operations.ts";
import { tempDir } from "../helpers.ts";
import { selectSql } from "../support/sql.ts";
import { freshTestDatabase, onPostgres, type TestDatabase } from "../support/store.ts";

// The URL's own parameters reach Bun's SQL client (docs/operations.md,
// "Connecting"): TLS is chosen there, and any other key is a startup
// parameter of the session. The test server has no TLS, so sslmode=require
// must fail to connect rather than fall back to plain text.

describe.skipIf(!onPostgres)("GATEHOUSE_DATABASE_URL's parameters", () => {
  let database: TestDatabase;
  let url: URL;
  beforeAll(async () => {
    database = await freshTestDatabase();
    url = new URL(database.env.GATEHOUSE_DATABASE_URL!);
  });
  afterAll(() => database.drop());

  const open = (params: Record<string, string>) => {
    const withParams = new URL(url);
    for (const [k, v] of Object.entries(params)) withParams.searchParams.set(k, v);
    return openStore(loadConfig({ GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_DATABASE_URL: withParams.href }));
  };

  test("sslmode=disable connects in clear, and a startup parameter names the session", async () => {
    const db = open({ application_name: "gatehouse-a", sslmode: "disable" });
    try {
      const [row] = await selectSql<{ name: string }>(db, sql`SELECT current_setting('application_name') AS name`);
      expect(row?.name).toBe("gatehouse-a");
    } finally {
      await closeStore(db);
    }
  });

  test("sslmode=require refuses a server without TLS instead of talking in clear", async () => {
    const db = open({ sslmode: "require" });
    try {
      const refused = await Promise.resolve(ping(db)).catch((e: unknown) => e);
      expect(refused).toMatchObject({ name: "PostgresError", code: "ERR_POSTGRES_TLS_NOT_AVAILABLE" });
    } finally {
      await closeStore(db);
    }
  });
});
