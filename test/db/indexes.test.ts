import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { tempDir } from "../helpers.ts";

// Lookups on a request path must search an index, never scan a table that
// grows with use (EXPLAIN QUERY PLAN, https://sqlite.org/eqp.html).

const root = tempDir();
const db = openDatabase(join(root, "data"));
migrate(db.$client);
afterAll(() => {
  db.$client.close();
  rmSync(root, { recursive: true, force: true });
});

const planOf = (sql: string) =>
  db.$client
    .query<{ detail: string }, []>(`EXPLAIN QUERY PLAN ${sql}`)
    .all()
    .map((row) => row.detail)
    .join(" | ");

test("a client's authorizations are found by index (client_credentials, client deletion's cascade)", () => {
  const plan = planOf("SELECT id FROM oauth_grants WHERE client_id = 'x' AND revoked_at IS NULL");
  expect(plan).toContain("USING INDEX oauth_grants_client_idx");
  expect(plan).not.toContain("SCAN oauth_grants");
});

test("a service account is found from its client without scanning oauth_grants", () => {
  const plan = planOf(
    "SELECT users.id FROM users JOIN oauth_grants ON oauth_grants.user_id = users.id AND oauth_grants.revoked_at IS NULL " +
      "JOIN oauth_clients ON oauth_clients.id = oauth_grants.client_id AND oauth_clients.kind = 'service' " +
      "WHERE users.kind = 'service' AND oauth_clients.id = 'x'",
  );
  expect(plan).not.toContain("SCAN oauth_grants");
});
