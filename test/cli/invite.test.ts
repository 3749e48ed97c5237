import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { join } from "node:path";
import { hashSecret } from "../../src/security/tokens.ts";
import { now, useCliSandbox } from "./sandbox.ts";

const cli = useCliSandbox();
const linkLine = /^http:\/\/localhost:\d+\/invite\/gate_inv_([a-z2-7]{16})_([a-z2-7]{52})\n$/;
type InvitationRow = {
  id: string;
  secret_hash: string;
  email: string;
  is_admin: number;
  created_at: number;
  expires_at: number;
  created_by: string | null;
};
const invitationRows = () =>
  cli.rows<InvitationRow>(
    sql`SELECT id, secret_hash, email, is_admin, created_at, expires_at, created_by FROM invitations`,
  );

describe("user invite", () => {
  test("prints the link alone on stdout and stores only a hash of its secret", async () => {
    const run = await cli.gatehouse(["user", "invite", "--email", "New@Example.com"]);
    expect(run.code).toBe(0);
    const [, id, secret] = linkLine.exec(run.out)!;
    const [row] = await invitationRows();
    expect(row).toMatchObject({
      id,
      email: "new@example.com",
      is_admin: 0,
      created_by: null,
      secret_hash: hashSecret(secret!),
    });
    expect(row!.expires_at - row!.created_at).toBe(7 * 86400);
    expect(row!.created_at).toBeGreaterThanOrEqual(now() - 5);
  });

  test("--admin and --expires-in are stored", async () => {
    const run = await cli.gatehouse(["user", "invite", "--email", "boss@example.com", "--admin", "--expires-in", "2d"]);
    expect(run.code).toBe(0);
    const [row] = await invitationRows();
    expect(row!.is_admin).toBe(1);
    expect(row!.expires_at - row!.created_at).toBe(2 * 86400);
  });

  test("a bad --expires-in exits 2 and stores nothing", async () => {
    const run = await cli.gatehouse(["user", "invite", "--email", "x@example.com", "--expires-in", "soon"]);
    expect(run.code).toBe(2);
    expect(run.out).toBe("");
    expect(run.err).toContain("--expires-in");
  });

  test("an email that already has an account exits 1 and prints no link", async () => {
    await cli.addUser("taken@example.com");
    const run = await cli.gatehouse(["user", "invite", "--email", "taken@example.com"]);
    expect(run.code).toBe(1);
    expect(run.out).toBe("");
    expect(run.err).toContain("taken@example.com already has an account");
    expect(await invitationRows()).toEqual([]);
  });

  test("is listed in user --help", async () => {
    const run = await cli.gatehouse(["user", "--help"]);
    expect(run.out).toContain("gatehouse user invite --email EMAIL [--admin] [--expires-in 7d]");
  });

  test("records invitation_created in the audit log", async () => {
    await cli.gatehouse(["user", "invite", "--email", "audited@example.com"]);
    const rows = await cli.rows<{ event: string; detail: string }>(sql`SELECT event, detail FROM audit_events`);
    expect(rows.map((r) => r.event)).toEqual(["invitation_created"]);
    expect(JSON.parse(rows[0]!.detail)).toMatchObject({ email: "audited@example.com", via: "cli" });
  });
});

describe("user disable and the last admin", () => {
  test("with two admins, disabling both in turn leaves the second refused", async () => {
    await cli.addUser("a@example.com", true);
    await cli.addUser("b@example.com", true);
    expect((await cli.gatehouse(["user", "disable", "a@example.com"])).code).toBe(0);
    const run = await cli.gatehouse(["user", "disable", "b@example.com"]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("last active admin");
    expect((await cli.users()).map((u) => u.disabled_at === null)).toEqual([false, true]);
  });

  test("two processes disabling the two admins at once cannot both succeed", async () => {
    await cli.addUser("a@example.com", true);
    await cli.addUser("b@example.com", true);
    const spawn = (email: string) =>
      Bun.spawn(
        [
          process.execPath,
          join(import.meta.dir, "../../src/main.ts"),
          "user",
          "disable",
          email,
          "--data-dir",
          cli.dataDir,
        ],
        { env: { ...process.env, ...cli.env }, stdout: "pipe", stderr: "pipe" },
      ).exited;
    const codes = await Promise.all([spawn("a@example.com"), spawn("b@example.com")]);
    expect(codes.sort()).toEqual([0, 1]);
    expect((await cli.users()).filter((u) => u.disabled_at === null)).toHaveLength(1);
  });

  test("a disable is recorded as user_disabled", async () => {
    await cli.addUser("root@example.com", true);
    await cli.addUser("dev@example.com");
    await cli.gatehouse(["user", "disable", "dev@example.com"]);
    expect((await cli.rows<{ event: string }>(sql`SELECT event FROM audit_events`)).map((r) => r.event)).toEqual([
      "user_disabled",
    ]);
  });
});
