import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json";
import { openSession } from "../src/accounts/sessions.ts";
import { runCli } from "../src/cli.ts";
import { openDatabase } from "../src/db/client.ts";
import { tempDir } from "./helpers.ts";

// Each test runs the CLI in-process against its own temp data dir, then reads
// the database it left behind.

const keyLine = /^gate_key_[a-z2-7]{16}_[a-z2-7]{52}\n$/;
const password = "a long password 123";
const allCommands = ["serve", "migrate", "user add", "user list", "user disable", "key create", "key list", "key revoke", "backup"];

let root: string;
let dataDir: string;
beforeEach(() => {
  root = tempDir();
  dataDir = join(root, "data");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function gatehouse(argv: string[], stdin = ""): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli([...argv, "--data-dir", dataDir], {
    env: {},
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    readStdin: async () => stdin,
  });
  return { code, out, err };
}

/** Runs a query on a database file (the data dir's by default) with a connection of its own. */
function rows<T>(sql: string, params: (string | number)[] = [], file = join(dataDir, "gatehouse.db")): T[] {
  const db = new Database(file, { strict: true });
  try {
    return db.query<T, (string | number)[]>(sql).all(...params);
  } finally {
    db.close();
  }
}

type UserRow = { email: string; is_admin: number; password_hash: string | null; disabled_at: number | null };
type KeyRow = { id: string; name: string; scope: string; expires_at: number | null; revoked_at: number | null };
const users = () => rows<UserRow>("SELECT email, is_admin, password_hash, disabled_at FROM users ORDER BY email");
const keys = () => rows<KeyRow>("SELECT id, name, scope, expires_at, revoked_at FROM api_keys");
const now = () => Math.floor(Date.now() / 1000);

async function addUser(email: string, admin = false): Promise<void> {
  const run = await gatehouse(["user", "add", "--email", email, ...(admin ? ["--admin"] : [])]);
  if (run.code !== 0) throw new Error(`user add failed: ${run.err}`);
}

async function createKey(email: string, ...flags: string[]): Promise<string> {
  const run = await gatehouse(["key", "create", "--user", email, "--name", "ci", ...flags]);
  if (run.code !== 0) throw new Error(`key create failed: ${run.err}`);
  return run.out.trim();
}

/** The id part of a `gate_key_<id>_<secret>` token. */
const idOf = (token: string) => token.split("_")[2]!;
const secretOf = (token: string) => token.split("_")[3]!;

describe("help and usage", () => {
  test("--version prints the version and exits 0", async () => {
    expect(await gatehouse(["--version"])).toEqual({ code: 0, out: `gatehouse ${pkg.version}\n`, err: "" });
  });

  test("--help exits 0 and names every command", async () => {
    const run = await gatehouse(["--help"]);
    expect(run.code).toBe(0);
    for (const command of allCommands) expect(run.out).toContain(`gatehouse ${command}`);
  });

  test("user add --help shows that command's usage and exits 0", async () => {
    const run = await gatehouse(["user", "add", "--help"]);
    expect(run.code).toBe(0);
    expect(run.out).toStartWith("Usage: gatehouse user add --email EMAIL");
  });

  test("user --help lists the user subcommands and exits 0", async () => {
    const run = await gatehouse(["user", "--help"]);
    expect(run.code).toBe(0);
    for (const command of ["user add", "user list", "user disable"]) expect(run.out).toContain(`gatehouse ${command}`);
    expect(run.out).not.toContain("key create");
  });

  test("an unknown command exits 2 with one line on stderr", async () => {
    const run = await gatehouse(["frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.out).toBe("");
    expect(run.err).toMatch(/^gatehouse: [^\n]*frobnicate[^\n]*\n$/);
  });

  test("an unknown flag exits 2", async () => {
    const run = await gatehouse(["user", "list", "--frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("--frobnicate");
  });

  test("a bad setting exits 2 naming its env var, before touching the data dir", async () => {
    const run = await gatehouse(["migrate", "--port", "abc"]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("PORT");
    expect(existsSync(dataDir)).toBe(false);
  });

  test("the data dir can come from GATEHOUSE_DATA_DIR", async () => {
    const code = await runCli(["migrate"], { env: { GATEHOUSE_DATA_DIR: dataDir }, out() {}, err() {}, readStdin: async () => "" });
    expect(code).toBe(0);
    expect(existsSync(join(dataDir, "gatehouse.db"))).toBe(true);
  });
});

describe("migrate", () => {
  test("applies the migrations, then says the database is up to date", async () => {
    const first = await gatehouse(["migrate"]);
    expect([first.code, first.out]).toEqual([0, "applied 0000_init\n"]);
    expect(await gatehouse(["migrate"])).toEqual({ code: 0, out: "database is up to date\n", err: "" });
  });
});

describe("user", () => {
  test("add --admin --password-stdin creates an admin with an argon2id hash of the password", async () => {
    const run = await gatehouse(["user", "add", "--email", "a@b.co", "--admin", "--password-stdin"], `${password}\n`);
    expect(run.code).toBe(0);
    const [user] = users();
    expect(user!.is_admin).toBe(1);
    expect(user!.password_hash).toStartWith("$argon2id$");
    // The trailing newline from `echo` or a terminal is not part of the password.
    expect(await Bun.password.verify(password, user!.password_hash!)).toBe(true);
  });

  test("add without --password-stdin creates a user with no password", async () => {
    await addUser("a@b.co");
    expect(users()).toMatchObject([{ email: "a@b.co", is_admin: 0, password_hash: null }]);
  });

  test("a duplicate email exits 1 and leaves one row", async () => {
    await addUser("a@b.co");
    const run = await gatehouse(["user", "add", "--email", "A@b.co"]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("already exists");
    expect(users()).toHaveLength(1);
  });

  test("a bad email fails and creates no row", async () => {
    const run = await gatehouse(["user", "add", "--email", "not-an-email"]);
    expect([1, 2]).toContain(run.code);
    expect(run.err).toContain("not-an-email");
    expect(users()).toHaveLength(0);
  });

  test("a short password fails and creates no row", async () => {
    const run = await gatehouse(["user", "add", "--email", "a@b.co", "--password-stdin"], "short\n");
    expect(run.code).toBe(1);
    expect(run.err).toContain("at least 12 characters");
    expect(users()).toHaveLength(0);
  });

  test("add without --email exits 2", async () => {
    const run = await gatehouse(["user", "add", "--admin"]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("--email");
  });

  test("list shows each user's email, role and status", async () => {
    await addUser("root@example.com", true);
    await addUser("dev@example.com");
    const { code, out } = await gatehouse(["user", "list"]);
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
    await addUser("root@example.com", true);
    await addUser("dev@example.com");
    const [dev] = rows<{ id: string }>("SELECT id FROM users WHERE email = 'dev@example.com'");
    const db = openDatabase(dataDir);
    openSession(db, { userId: dev!.id, apiKeyId: null, apiKeyExpiresAt: null, now: now() });
    db.$client.close();
    const run = await gatehouse(["user", "disable", "dev@example.com"]);
    expect(run.code).toBe(0);
    expect(users().find((u) => u.email === "dev@example.com")!.disabled_at).toBeGreaterThanOrEqual(now() - 5);
    expect(rows("SELECT id FROM sessions WHERE user_id = ?", [dev!.id])).toHaveLength(0);
  });

  test("disabling the last admin is refused", async () => {
    await addUser("root@example.com", true);
    const run = await gatehouse(["user", "disable", "root@example.com"]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("last active admin");
    expect(users()[0]!.disabled_at).toBeNull();
  });
});

describe("key", () => {
  beforeEach(() => addUser("dev@example.com"));

  test("create prints only the key on stdout", async () => {
    const run = await gatehouse(["key", "create", "--user", "dev@example.com", "--name", "ci"]);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(keyLine);
    expect(run.err).toBe("");
  });

  test("create stores the key with full access and no expiry", async () => {
    const token = await createKey("dev@example.com");
    expect(keys()).toEqual([{ id: idOf(token), name: "ci", scope: "mcp:read mcp:write", expires_at: null, revoked_at: null }]);
  });

  test("create never stores the secret", async () => {
    const token = await createKey("dev@example.com");
    const stored = JSON.stringify(rows("SELECT * FROM api_keys"));
    expect(stored).not.toContain(secretOf(token));
  });

  test("--read-only gives scope mcp:read", async () => {
    await createKey("dev@example.com", "--read-only");
    expect(keys()[0]!.scope).toBe("mcp:read");
  });

  test("--expires-in 30d expires thirty days from now", async () => {
    await createKey("dev@example.com", "--expires-in", "30d");
    expect(Math.abs(keys()[0]!.expires_at! - (now() + 30 * 86400))).toBeLessThanOrEqual(5);
  });

  test("--expires-in soon exits 2 and creates no key", async () => {
    const run = await gatehouse(["key", "create", "--user", "dev@example.com", "--name", "ci", "--expires-in", "soon"]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("--expires-in");
    expect(keys()).toHaveLength(0);
  });

  test("an unknown user exits 1 and creates no key", async () => {
    const run = await gatehouse(["key", "create", "--user", "nobody@example.com", "--name", "ci"]);
    expect(run.code).toBe(1);
    expect(run.out).toBe("");
    expect(keys()).toHaveLength(0);
  });

  test("list shows the id and name but never the secret", async () => {
    const token = await createKey("dev@example.com");
    const { code, out } = await gatehouse(["key", "list"]);
    expect(code).toBe(0);
    expect(out).toContain(idOf(token));
    expect(out).toMatch(/\bci\b/);
    expect(out).not.toContain(secretOf(token));
    expect(out).not.toContain("gate_key_");
  });

  test("list --user shows only that user's keys", async () => {
    await addUser("other@example.com");
    const mine = await createKey("dev@example.com");
    const theirs = await createKey("other@example.com");
    const { out } = await gatehouse(["key", "list", "--user", "other@example.com"]);
    expect(out).toContain(idOf(theirs));
    expect(out).not.toContain(idOf(mine));
  });

  test("revoke sets revoked_at and hides the key from list", async () => {
    const id = idOf(await createKey("dev@example.com"));
    expect((await gatehouse(["key", "revoke", id])).code).toBe(0);
    expect(keys()[0]!.revoked_at).toBeGreaterThanOrEqual(now() - 5);
    expect((await gatehouse(["key", "list"])).out).not.toContain(id);
  });

  test("revoking an unknown id exits 1", async () => {
    const run = await gatehouse(["key", "revoke", "aaaaaaaaaaaaaaaa"]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("aaaaaaaaaaaaaaaa");
  });
});

describe("backup", () => {
  beforeEach(async () => {
    await addUser("root@example.com", true);
    await addUser("dev@example.com");
  });

  test("writes a SQLite copy with the same users", async () => {
    const file = join(root, "copy.db");
    expect((await gatehouse(["backup", file])).code).toBe(0);
    expect(rows("PRAGMA integrity_check", [], file)).toEqual([{ integrity_check: "ok" }]);
    expect(rows("SELECT email FROM users", [], file)).toHaveLength(2);
  });

  test("the copy has mode 0600", async () => {
    const file = join(root, "copy.db");
    await gatehouse(["backup", file]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test("an existing file is refused with exit 1 and left alone", async () => {
    const file = join(root, "copy.db");
    writeFileSync(file, "precious");
    const run = await gatehouse(["backup", file]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("already exists");
    expect(await Bun.file(file).text()).toBe("precious");
  });

  test("copies a database a newer Gatehouse wrote, without migrating it", async () => {
    rows("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-the-future', ?) RETURNING id", [Date.now() + 86_400_000]);
    const file = join(root, "copy.db");
    expect((await gatehouse(["backup", file])).code).toBe(0);
    expect(rows("SELECT id FROM __drizzle_migrations WHERE hash = 'from-the-future'", [], file)).toHaveLength(1);
  });

  test("an empty data dir exits 1 and writes no file", async () => {
    dataDir = join(root, "empty");
    const file = join(root, "copy.db");
    const run = await gatehouse(["backup", file]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("no database");
    expect(existsSync(file)).toBe(false);
  });
});
