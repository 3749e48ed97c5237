import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { idOf, keyLine, useCliSandbox } from "../cli/sandbox.ts";

// `gatehouse key create|rotate|revoke` write their audit entries straight to
// the database, with no server running.

const box = useCliSandbox();
type Entry = {
  event: string;
  outcome: string;
  user_id: string | null;
  api_key_id: string | null;
  detail: string | null;
};
const entries = (event: string) =>
  box.rows<Entry>(
    sql`SELECT event, outcome, user_id, api_key_id, detail FROM audit_events WHERE event = ${event} ORDER BY id`,
  );
const userIdOf = async (email: string) =>
  (await box.rows<{ id: string }>(sql`SELECT id FROM users WHERE email = ${email}`))[0]!.id;

describe("the CLI", () => {
  test("key create records key_created with the owner, the key and via cli", async () => {
    await box.addUser("ops@example.com");
    const token = await box.createKey("ops@example.com", "--read-only");
    const [row, ...rest] = await entries("key_created");
    expect(rest).toEqual([]);
    expect(row).toMatchObject({ outcome: "ok", user_id: await userIdOf("ops@example.com"), api_key_id: idOf(token) });
    expect(JSON.parse(row!.detail!)).toEqual({ name: "ci", access: "read", via: "cli" });
  });

  test("key rotate prints the new key and records key_rotated", async () => {
    await box.addUser("ops@example.com");
    const old = await box.createKey("ops@example.com");
    const run = await box.gatehouse(["key", "rotate", idOf(old)]);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(keyLine);
    const [row] = await entries("key_rotated");
    expect(row).toMatchObject({ user_id: await userIdOf("ops@example.com"), api_key_id: idOf(old) });
    expect(JSON.parse(row!.detail!)).toEqual({ new_api_key_id: idOf(run.out.trim()), via: "cli" });
  });

  test("key rotate of an unknown id exits 1 and records nothing", async () => {
    await box.addUser("ops@example.com");
    const run = await box.gatehouse(["key", "rotate", "nosuchid"]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("no live API key with the id nosuchid");
    expect(await entries("key_rotated")).toEqual([]);
  });

  test("key revoke records key_revoked with the key's owner", async () => {
    await box.addUser("ops@example.com");
    const token = await box.createKey("ops@example.com");
    expect((await box.gatehouse(["key", "revoke", idOf(token)])).code).toBe(0);
    expect(await entries("key_revoked")).toMatchObject([
      { outcome: "ok", user_id: await userIdOf("ops@example.com"), api_key_id: idOf(token) },
    ]);
  });
});
