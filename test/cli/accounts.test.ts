import { beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { existsSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json";
import { openSession } from "../../src/accounts/sessions.ts";
import { runCli } from "../../src/cli.ts";
import { closeStore } from "../../src/db/operations.ts";
import { idOf, keyLine, now, password, secretOf, useCliSandbox } from "./sandbox.ts";

const allCommands = [
  "serve",
  "healthcheck",
  "migrate",
  "user add",
  "user list",
  "user disable",
  "key create",
  "key list",
  "key revoke",
  "backup",
  "restore",
];
const cli = useCliSandbox();

describe("help and usage", () => {
  test("--version prints the version and exits 0", async () => {
    expect(await cli.gatehouse(["--version"])).toEqual({ code: 0, out: `gatehouse ${pkg.version}\n`, err: "" });
  });

  test("--help exits 0 and names every command", async () => {
    const run = await cli.gatehouse(["--help"]);
    expect(run.code).toBe(0);
    for (const command of allCommands) expect(run.out).toContain(`gatehouse ${command}`);
  });

  test("user add --help shows that command's usage and exits 0", async () => {
    const run = await cli.gatehouse(["user", "add", "--help"]);
    expect(run.code).toBe(0);
    expect(run.out).toStartWith("Usage: gatehouse user add --email EMAIL");
  });

  test("user --help lists the user subcommands and exits 0", async () => {
    const run = await cli.gatehouse(["user", "--help"]);
    expect(run.code).toBe(0);
    for (const command of ["user add", "user list", "user disable"]) expect(run.out).toContain(`gatehouse ${command}`);
    expect(run.out).not.toContain("key create");
  });

  test("an unknown command exits 2 with one line on stderr", async () => {
    const run = await cli.gatehouse(["frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.out).toBe("");
    expect(run.err).toMatch(/^gatehouse: [^\n]*frobnicate[^\n]*\n$/);
  });

  test("an unknown flag exits 2", async () => {
    const run = await cli.gatehouse(["user", "list", "--frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("--frobnicate");
  });

  test("a bad setting exits 2 naming its env var, before touching the data dir", async () => {
    const run = await cli.gatehouse(["migrate", "--port", "abc"]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("PORT");
    expect(existsSync(cli.dataDir)).toBe(false);
  });

  test("the data dir can come from GATEHOUSE_DATA_DIR", async () => {
    const code = await runCli(["migrate"], {
      env: { GATEHOUSE_DATA_DIR: cli.dataDir },
      out() {},
      err() {},
      readStdin: async () => "",
    });
    expect(code).toBe(0);
    expect(existsSync(join(cli.dataDir, "gatehouse.db"))).toBe(true);
  });
});

describe("user", () => {
  test("add --admin --password-stdin creates an admin with an argon2id hash of the password", async () => {
    const run = await cli.gatehouse(
      ["user", "add", "--email", "a@b.co", "--admin", "--password-stdin"],
      `${password}\n`,
    );
    expect(run.code).toBe(0);
    const [user] = await cli.users();
    expect(user!.is_admin).toBe(1);
    expect(user!.password_hash).toStartWith("$argon2id$");
    // The trailing newline from `echo` or a terminal is not part of the password.
    expect(await Bun.password.verify(password, user!.password_hash!)).toBe(true);
  });

  test("add without --password-stdin creates a user with no password", async () => {
    await cli.addUser("a@b.co");
    expect(await cli.users()).toMatchObject([{ email: "a@b.co", is_admin: 0, password_hash: null }]);
  });

  test("a duplicate email exits 1 and leaves one row", async () => {
    await cli.addUser("a@b.co");
    const run = await cli.gatehouse(["user", "add", "--email", "A@b.co"]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("already exists");
    expect(await cli.users()).toHaveLength(1);
  });

  test("a bad email fails and creates no row", async () => {
    const run = await cli.gatehouse(["user", "add", "--email", "not-an-email"]);
    expect([1, 2]).toContain(run.code);
    expect(run.err).toContain("not-an-email");
    expect(await cli.users()).toHaveLength(0);
  });

  test("a short password fails and creates no row", async () => {
    const run = await cli.gatehouse(["user", "add", "--email", "a@b.co", "--password-stdin"], "short\n");
    expect(run.code).toBe(1);
    expect(run.err).toContain("at least 12 characters");
    expect(await cli.users()).toHaveLength(0);
  });

  test("add without --email exits 2", async () => {
    const run = await cli.gatehouse(["user", "add", "--admin"]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("--email");
  });

  test("list shows each user's email, role and status", async () => {
    await cli.addUser("root@example.com", true);
    await cli.addUser("dev@example.com");
    const { code, out } = await cli.gatehouse(["user", "list"]);
    expect(code).toBe(0);
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^EMAIL\s+ROLE\s+STATUS\s+CREATED$/);
    // Same-second rows sort by email.
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ["dev@example.com", "user", "active"],
      ["root@example.com", "admin", "active"],
    ]);
  });

  test("disable sets disabled_at and ends the user's sessions", async () => {
    await cli.addUser("root@example.com", true);
    await cli.addUser("dev@example.com");
    const [dev] = await cli.rows<{ id: string }>(sql`SELECT id FROM users WHERE email = 'dev@example.com'`);
    const db = await cli.openDb();
    await openSession(db, { userId: dev!.id, apiKeyId: null, apiKeyExpiresAt: null, now: now() });
    await closeStore(db);
    const run = await cli.gatehouse(["user", "disable", "dev@example.com"]);
    expect(run.code).toBe(0);
    expect((await cli.users()).find((u) => u.email === "dev@example.com")!.disabled_at).toBeGreaterThanOrEqual(
      now() - 5,
    );
    expect(await cli.rows(sql`SELECT id FROM sessions WHERE user_id = ${dev!.id}`)).toHaveLength(0);
  });

  test("disabling the last admin is refused", async () => {
    await cli.addUser("root@example.com", true);
    const run = await cli.gatehouse(["user", "disable", "root@example.com"]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("last active admin");
    expect((await cli.users())[0]!.disabled_at).toBeNull();
  });
});

describe("key", () => {
  beforeEach(() => cli.addUser("dev@example.com"));

  test("create prints only the key on stdout", async () => {
    const run = await cli.gatehouse(["key", "create", "--user", "dev@example.com", "--name", "ci"]);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(keyLine);
    expect(run.err).toBe("");
  });

  test("create refuses a name one of the person's live keys has, and stores nothing", async () => {
    await cli.createKey("dev@example.com");
    const run = await cli.gatehouse(["key", "create", "--user", "dev@example.com", "--name", "ci"]);
    expect(run.code).toBe(1);
    expect(run.err).toContain('There is already a live key named "ci"');
    expect(await cli.keys()).toHaveLength(1);
  });

  test("create stores the key with full access and no expiry", async () => {
    const token = await cli.createKey("dev@example.com");
    expect(await cli.keys()).toEqual([
      { id: idOf(token), name: "ci", scope: "mcp:read mcp:write", expires_at: null, revoked_at: null },
    ]);
  });

  test("create never stores the secret", async () => {
    const token = await cli.createKey("dev@example.com");
    const stored = JSON.stringify(await cli.rows(sql`SELECT * FROM api_keys`));
    expect(stored).not.toContain(secretOf(token));
  });

  test("--read-only gives scope mcp:read", async () => {
    await cli.createKey("dev@example.com", "--read-only");
    expect((await cli.keys())[0]!.scope).toBe("mcp:read");
  });

  test("--expires-in 30d expires thirty days from now", async () => {
    await cli.createKey("dev@example.com", "--expires-in", "30d");
    expect(Math.abs((await cli.keys())[0]!.expires_at! - (now() + 30 * 86400))).toBeLessThanOrEqual(5);
  });

  test("--expires-in soon exits 2 and creates no key", async () => {
    const run = await cli.gatehouse([
      "key",
      "create",
      "--user",
      "dev@example.com",
      "--name",
      "ci",
      "--expires-in",
      "soon",
    ]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("--expires-in");
    expect(await cli.keys()).toHaveLength(0);
  });

  test("an unknown user exits 1 and creates no key", async () => {
    const run = await cli.gatehouse(["key", "create", "--user", "nobody@example.com", "--name", "ci"]);
    expect(run.code).toBe(1);
    expect(run.out).toBe("");
    expect(await cli.keys()).toHaveLength(0);
  });

  test("list shows the id and name but never the secret", async () => {
    const token = await cli.createKey("dev@example.com");
    const { code, out } = await cli.gatehouse(["key", "list"]);
    expect(code).toBe(0);
    expect(out).toContain(idOf(token));
    expect(out).toMatch(/\bci\b/);
    expect(out).not.toContain(secretOf(token));
    expect(out).not.toContain("gate_key_");
  });

  test("list --user shows only that user's keys", async () => {
    await cli.addUser("other@example.com");
    const mine = await cli.createKey("dev@example.com");
    const theirs = await cli.createKey("other@example.com");
    const { out } = await cli.gatehouse(["key", "list", "--user", "other@example.com"]);
    expect(out).toContain(idOf(theirs));
    expect(out).not.toContain(idOf(mine));
  });

  test("revoke sets revoked_at and hides the key from list", async () => {
    const id = idOf(await cli.createKey("dev@example.com"));
    expect((await cli.gatehouse(["key", "revoke", id])).code).toBe(0);
    expect((await cli.keys())[0]!.revoked_at).toBeGreaterThanOrEqual(now() - 5);
    expect((await cli.gatehouse(["key", "list"])).out).not.toContain(id);
  });

  test("revoking an unknown id exits 1", async () => {
    const run = await cli.gatehouse(["key", "revoke", "aaaaaaaaaaaaaaaa"]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("aaaaaaaaaaaaaaaa");
  });
});
