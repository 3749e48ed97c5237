import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { commandGroups } from "../../src/cli.ts";
import { defaultPasswordHashCost } from "../../src/accounts/password-cost.ts";
import { verifyPassword } from "../../src/accounts/users.ts";
import { now, password, useCliSandbox } from "./sandbox.ts";

const cli = useCliSandbox();

describe("command groups", () => {
  test("the groups come from the commands: user, key, connection and service", () => {
    expect(commandGroups.toSorted()).toEqual(["connection", "key", "service", "user"]);
  });

  test.each(["user", "key", "connection", "service"])(
    "%s --help exits 0 and lists only that group's commands",
    async (group) => {
      const run = await cli.gatehouse([group, "--help"]);
      expect(run).toMatchObject({ code: 0, err: "" });
      expect(run.out).toStartWith(`Usage: gatehouse ${group} COMMAND`);
      expect(run.out).toContain(`gatehouse ${group} list`);
      for (const other of commandGroups.filter((g) => g !== group))
        expect(run.out).not.toContain(`gatehouse ${other} `);
    },
  );

  test.each(["user", "key", "connection", "service"])("%s alone exits 2 naming its subcommands", async (group) => {
    const run = await cli.gatehouse([group]);
    expect(run.code).toBe(2);
    expect(run.err).toStartWith(`gatehouse: "${group}" needs a subcommand: ${group} `);
  });

  test("--help names every group's commands", async () => {
    const run = await cli.gatehouse(["--help"]);
    expect(run.code).toBe(0);
    for (const command of [
      "service create",
      "service list",
      "user password",
      "key rotate",
      "connection list",
      "connection revoke",
    ])
      expect(run.out).toContain(`gatehouse ${command}`);
  });
});

describe("user password", () => {
  const hashOf = async (email: string) => (await cli.users()).find((u) => u.email === email)?.password_hash ?? null;

  test("gives a key-only user a password and ends their sessions", async () => {
    await cli.addUser("admin@example.com", true);
    expect(await hashOf("admin@example.com")).toBeNull();
    const userId = (await cli.rows<{ id: string }>(sql`SELECT id FROM users`))[0]!.id;
    await cli.rows(
      sql`INSERT INTO sessions (id, user_id, secret_hash, api_key_id, created_at, expires_at) VALUES ('s1', ${userId}, x'00', NULL, ${now()}, ${now() + 3600})`,
    );
    const run = await cli.gatehouse(
      ["user", "password", "--email", "Admin@Example.com", "--password-stdin"],
      `${password}\n`,
    );
    expect(run).toEqual({ code: 0, out: "password set for admin@example.com\n", err: "" });
    expect(await verifyPassword(password, await hashOf("admin@example.com"), defaultPasswordHashCost)).toBe(true);
    expect(await cli.rows(sql`SELECT id FROM sessions`)).toEqual([]);
    const audit = await cli.rows<{ event: string; detail: string }>(
      sql`SELECT event, detail FROM audit_events WHERE event = 'password_set'`,
    );
    expect(audit.length).toBe(1);
    expect(audit[0]!.detail).not.toContain(password);
  });

  test("without --password-stdin exits 2 and changes nothing", async () => {
    await cli.addUser("a@example.com");
    const run = await cli.gatehouse(["user", "password", "--email", "a@example.com"]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("--password-stdin");
    expect(await hashOf("a@example.com")).toBeNull();
  });

  test("a short password exits 1 with the rule", async () => {
    await cli.addUser("a@example.com");
    const run = await cli.gatehouse(["user", "password", "--email", "a@example.com", "--password-stdin"], "short\n");
    expect(run.code).toBe(1);
    expect(run.err).toContain("at least 12 characters");
    expect(await hashOf("a@example.com")).toBeNull();
  });

  test("an unknown email exits 1", async () => {
    const run = await cli.gatehouse(
      ["user", "password", "--email", "nobody@example.com", "--password-stdin"],
      `${password}\n`,
    );
    expect(run.code).toBe(1);
    expect(run.err).toBe("gatehouse: No user with the email nobody@example.com.\n");
  });

  test("a service account has no password", async () => {
    expect((await cli.gatehouse(["service", "create", "--name", "ci", "--read-only"])).code).toBe(0);
    const run = await cli.gatehouse(
      ["user", "password", "--email", "ci@service.invalid", "--password-stdin"],
      `${password}\n`,
    );
    expect(run.code).toBe(1);
    expect(run.err).toContain("service account");
  });
});
