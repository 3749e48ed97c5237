import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { hashSecret } from "../../src/security/tokens.ts";
import { useCliSandbox } from "./sandbox.ts";

const cli = useCliSandbox();
const created = /^client_id=(gate_client_[a-z2-7]{16})\nclient_secret=(gate_cs_[a-z2-7]{16}_[a-z2-7]{52})\n$/;

describe("service create", () => {
  test("prints client_id and client_secret; stores the account, a hashed secret and its grant", async () => {
    const run = await cli.gatehouse(["service", "create", "--name", "ci-deploy", "--read-only"]);
    expect(run.code).toBe(0);
    const [, clientId, secret] = created.exec(run.out)!;
    const [user] = await cli.rows<{ id: string; kind: string; email: string }>(
      sql`SELECT id, kind, email FROM users WHERE name = 'ci-deploy'`,
    );
    expect([user!.kind, user!.email]).toEqual(["service", "ci-deploy@service.invalid"]);
    const [client] = await cli.rows<{ kind: string; secret_hash: string }>(
      sql`SELECT kind, secret_hash FROM oauth_clients WHERE id = ${clientId!}`,
    );
    expect(client).toEqual({ kind: "service", secret_hash: hashSecret(secret!) });
    const [grant] = await cli.rows<{ scope: string; user_id: string }>(
      sql`SELECT scope, user_id FROM oauth_grants WHERE client_id = ${clientId!}`,
    );
    expect(grant).toEqual({ scope: "mcp:read", user_id: user!.id });
  });

  test("a bad name exits 1 and creates nothing", async () => {
    const run = await cli.gatehouse(["service", "create", "--name", "Not A Slug"]);
    expect([run.code, run.out]).toEqual([1, ""]);
    expect(run.err).toContain("a-z, 0-9");
    expect(await cli.rows(sql`SELECT id FROM users WHERE kind = 'service'`)).toEqual([]);
  });

  test("--tools with --read-only is a usage error (exit 2)", async () => {
    const run = await cli.gatehouse(["service", "create", "--name", "x", "--read-only", "--tools", "a"]);
    expect(run.code).toBe(2);
  });

  test("service list shows it, never the secret; key create refuses a service account", async () => {
    const made = await cli.gatehouse(["service", "create", "--name", "nightly"]);
    const secret = created.exec(made.out)![2]!;
    const list = await cli.gatehouse(["service", "list"]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/nightly\s+gate_client_[a-z2-7]{16}\s+full\s+all\s+active/);
    expect(list.out).not.toContain(secret);
    const key = await cli.gatehouse(["key", "create", "--user", "nightly@service.invalid", "--name", "k"]);
    expect(key.code).toBe(1);
    expect(key.err).toContain("client_credentials");
  });
});
