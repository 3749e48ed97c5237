import { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { databaseFileName } from "../../src/db/client.ts";
import { serverLockFileName } from "../../src/db/server-lock.ts";
import { migrate } from "../../src/db/migrate.ts";
import { migrations } from "../../src/db/migrations.ts";
import { freePort, tempDir } from "../helpers.ts";
import { waitFor } from "../support/wait-for.ts";
import { useCliSandbox } from "./sandbox.ts";

// `gatehouse restore FILE` (issue 16): a backup taken with `gatehouse backup`
// goes back in place of the database, checked first, with the database it
// replaces kept aside. The servers here are real processes on the sandbox's
// data dir, as an operator would run them.
//
// Restore refuses a database another connection has open, and this process
// would have one: bun:sqlite lets a closed connection go for good
// (sqlite3_close_v2) only once its prepared statements are garbage collected,
// so a command run in-process (the sandbox's way) keeps the database open for
// a while after it returns. So each test's data dir is a copy of one made by
// real CLI processes, and what a test does to it before a restore is done by
// real processes too (`gatehouseProcess`).

const cli = useCliSandbox();
const main = join(import.meta.dir, "../../src/main.ts");

interface Server {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** SIGTERM, then the exit code and what it wrote on stdout. */
  stop(): Promise<{ code: number; out: string }>;
}
const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.proc.kill("SIGKILL");
});

/** `gatehouse serve` on the sandbox's data dir, once /readyz answers 200. */
async function startServer(): Promise<Server> {
  const port = freePort();
  const proc = Bun.spawn(
    [process.execPath, main, "serve", "--data-dir", cli.dataDir, "--port", String(port), "--host", "127.0.0.1"],
    { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const server: Server = {
    proc,
    async stop() {
      proc.kill("SIGTERM");
      const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
      return { code, out };
    },
  };
  servers.push(server);
  const ready = async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200;
  await waitFor(ready, 15_000, () => `the server on ${cli.dataDir} to answer /readyz`);
  return server;
}

const restore = (file: string) => cli.gatehouse(["restore", file]);

/** A gatehouse command in a process of its own, on the sandbox's data dir unless told; its stderr when it fails. */
async function gatehouseProcess(argv: string[], dataDir = cli.dataDir): Promise<void> {
  const proc = Bun.spawn([process.execPath, main, ...argv, "--data-dir", dataDir], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`gatehouse ${argv.join(" ")} exited ${code}: ${err}`);
}

const emails = async () => (await cli.users()).map((u) => u.email);
const dataDirFiles = () => readdirSync(cli.dataDir).sort();
const keptAside = () => readdirSync(cli.dataDir).filter((f) => f.startsWith(`${databaseFileName}.before-restore-`));

/** The emails in a SQLite file other than the data dir's database (a backup, or one kept aside). */
function emailsIn(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .query<{ email: string }, []>("SELECT email FROM users ORDER BY email")
      .all()
      .map((r) => r.email);
  } finally {
    db.close();
  }
}

/** Runs `statements` on a SQLite file, to make one a Gatehouse backup could not be. */
function spoil(file: string, ...statements: string[]): void {
  const db = new Database(file);
  try {
    for (const statement of statements) db.run(statement);
  } finally {
    db.close();
  }
}

/** A data dir with root@ (an admin) and later@, and a backup taken between the two. */
const template = { root: tempDir(), dataDir: "", backup: "" };
beforeAll(async () => {
  template.dataDir = join(template.root, "data");
  template.backup = join(template.root, "backup.db");
  await gatehouseProcess(["user", "add", "--email", "root@example.com", "--admin"], template.dataDir);
  await gatehouseProcess(["backup", template.backup], template.dataDir);
  await gatehouseProcess(["user", "add", "--email", "later@example.com"], template.dataDir);
});
afterAll(() => rmSync(template.root, { recursive: true, force: true }));

let backup: string;
beforeEach(() => {
  cpSync(template.dataDir, cli.dataDir, { recursive: true });
  backup = join(cli.root, "backup.db");
  copyFileSync(template.backup, backup);
});

describe("restore", () => {
  test("brings back what the backup holds; what came after it is gone", async () => {
    const run = await restore(backup);
    expect(run.code).toBe(0);
    expect(run.out).toEndWith(`restored ${backup} into ${join(cli.dataDir, databaseFileName)}\n`);
    expect(await emails()).toEqual(["root@example.com"]);
  });

  test("keeps the database it replaces aside, 0600, and says where", async () => {
    chmodSync(join(cli.dataDir, databaseFileName), 0o644);
    const run = await restore(backup);
    const [aside] = keptAside();
    expect(aside).toMatch(/^gatehouse\.db\.before-restore-\d{8}T\d{6}Z$/);
    expect(run.out).toStartWith(`kept the database it replaces as ${join(cli.dataDir, aside!)}\n`);
    expect(statSync(join(cli.dataDir, aside!)).mode & 0o777).toBe(0o600);
    expect(emailsIn(join(cli.dataDir, aside!))).toEqual(["later@example.com", "root@example.com"]);
  });

  test("the restored database is 0600, from a backup readable by all, and nothing else is left in the data dir", async () => {
    chmodSync(backup, 0o644);
    await restore(backup);
    expect(statSync(join(cli.dataDir, databaseFileName)).mode & 0o777).toBe(0o600);
    expect(dataDirFiles()).toEqual([databaseFileName, keptAside()[0]!, serverLockFileName]);
  });

  test("a server starts on the restored database and finds its admin", async () => {
    expect((await restore(backup)).code).toBe(0);
    const server = await startServer();
    const { code, out } = await server.stop();
    expect(code).toBe(0);
    expect(out).toContain('"msg":"listening"');
    // The restored database has an admin, so no first-start setup link.
    expect(out).not.toContain("no admin yet");
  });

  test("a backup from an older Gatehouse is migrated, as serve would", async () => {
    const older = join(cli.root, "older.db");
    const db = new Database(older);
    migrate(db, migrations.slice(0, -1));
    db.close();
    const run = await restore(older);
    expect(run.code).toBe(0);
    expect(run.out).toContain(`applied ${migrations.at(-1)!.tag}\n`);
    expect(await cli.gatehouse(["migrate"])).toEqual({ code: 0, out: "database is up to date\n", err: "" });
  });

  test("into an empty data dir: nothing to keep aside", async () => {
    cli.dataDir = join(cli.root, "fresh");
    const run = await restore(backup);
    expect(run.code).toBe(0);
    expect(run.out).not.toContain("kept");
    expect(await emails()).toEqual(["root@example.com"]);
    expect(statSync(cli.dataDir).mode & 0o777).toBe(0o700);
  });

  test("over a database SQLite cannot read: that file is kept aside as it was", async () => {
    const garbage = Buffer.from("not a database at all ".repeat(300));
    writeFileSync(join(cli.dataDir, databaseFileName), garbage);
    expect((await restore(backup)).code).toBe(0);
    expect(readFileSync(join(cli.dataDir, keptAside()[0]!))).toEqual(garbage);
    expect(await emails()).toEqual(["root@example.com"]);
  });
});

describe("restore and a running server", () => {
  test("refused while a server runs on the data dir, which stays as it was", async () => {
    const server = await startServer();
    const before = dataDirFiles();
    const run = await restore(backup);
    expect(run.code).toBe(1);
    expect(run.err).toBe(`gatehouse: a Gatehouse server is running on ${cli.dataDir}: stop the server first\n`);
    expect(dataDirFiles()).toEqual(before);
    expect(await emails()).toEqual(["later@example.com", "root@example.com"]);
    // The server's lock stops only restore: the other commands work beside it.
    expect((await cli.gatehouse(["user", "add", "--email", "beside@example.com"])).code).toBe(0);
    expect((await cli.gatehouse(["backup", join(cli.root, "beside.db")])).code).toBe(0);
    expect((await server.stop()).code).toBe(0);
  });

  test("refused while another connection has the database open without the lock, as an older server would", async () => {
    const database = join(cli.dataDir, databaseFileName);
    const other = new Database(database);
    try {
      other.run("PRAGMA journal_mode = WAL");
      other.query("SELECT count(*) FROM users").get();
      const run = await restore(backup);
      expect(run.code).toBe(1);
      expect(run.err).toBe(
        `gatehouse: ${database} is open in another process (a server, or a gatehouse command); stop it first\n`,
      );
      expect(dataDirFiles()).toEqual([
        databaseFileName,
        `${databaseFileName}-shm`,
        `${databaseFileName}-wal`,
        serverLockFileName,
      ]);
    } finally {
      other.close();
    }
    expect(await emails()).toEqual(["later@example.com", "root@example.com"]);
  });

  test("allowed once the server has stopped", async () => {
    const server = await startServer();
    expect((await server.stop()).code).toBe(0);
    expect((await restore(backup)).code).toBe(0);
    expect(await emails()).toEqual(["root@example.com"]);
  });

  test("a server killed with SIGKILL leaves no lock, and its write-ahead log is folded into the copy kept aside", async () => {
    const server = await startServer();
    await gatehouseProcess(["user", "add", "--email", "unsaved@example.com"]);
    server.proc.kill("SIGKILL");
    await server.proc.exited;
    expect(existsSync(join(cli.dataDir, `${databaseFileName}-wal`))).toBe(true);
    expect((await restore(backup)).code).toBe(0);
    expect(dataDirFiles()).toEqual([databaseFileName, keptAside()[0]!, serverLockFileName]);
    expect(emailsIn(join(cli.dataDir, keptAside()[0]!))).toContain("unsaved@example.com");
    expect(await emails()).toEqual(["root@example.com"]);
  });
});

describe("restore refuses, with one line and the database untouched,", () => {
  /** Runs restore on `file` and checks it failed with `message`, leaving the data dir as it was. */
  async function refused(file: string, message: string): Promise<void> {
    const before = dataDirFiles().filter((f) => f !== serverLockFileName);
    const run = await restore(file);
    expect([run.code, run.out, run.err]).toEqual([1, "", `gatehouse: ${message}\n`]);
    expect(dataDirFiles().filter((f) => f !== serverLockFileName)).toEqual(before);
    expect(await emails()).toEqual(["later@example.com", "root@example.com"]);
  }

  test("a file that does not exist", async () => {
    const file = join(cli.root, "missing.db");
    await refused(file, `${file} does not exist`);
  });

  test("garbage bytes", async () => {
    const file = join(cli.root, "garbage.db");
    writeFileSync(file, crypto.getRandomValues(new Uint8Array(8192)));
    await refused(file, `${file} is not a SQLite database`);
  });

  test("a truncated copy", async () => {
    const file = join(cli.root, "truncated.db");
    const whole = readFileSync(backup);
    writeFileSync(file, whole.subarray(0, whole.length / 2));
    await refused(file, `${file} is damaged: database disk image is malformed`);
  });

  test("a copy with a damaged page", async () => {
    const file = join(cli.root, "damaged.db");
    const bytes = readFileSync(backup);
    // Page 2 onwards overwritten: the header and schema page stay readable.
    bytes.fill(0xff, 4096, 4096 * 3);
    writeFileSync(file, bytes);
    const run = await restore(file);
    expect(run.code).toBe(1);
    expect(run.err).toStartWith(`gatehouse: ${file} is damaged: `);
    expect(run.err.trim().split("\n")).toHaveLength(1);
    expect(await emails()).toEqual(["later@example.com", "root@example.com"]);
  });

  test("a SQLite file that is not Gatehouse's", async () => {
    const file = join(cli.root, "other.db");
    spoil(file, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
    await refused(file, `${file} is not a Gatehouse database`);
  });

  test("a Gatehouse history without Gatehouse's tables", async () => {
    spoil(backup, "DROP TABLE audit_events");
    await refused(backup, `${backup} is not a Gatehouse database: it has no audit_events table`);
  });

  test("a backup from a newer Gatehouse", async () => {
    spoil(
      backup,
      `INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-the-future', ${Date.now() + 86_400_000})`,
    );
    await refused(
      backup,
      `${backup} was written by a newer version of Gatehouse; restore it with that version or a later one`,
    );
  });

  test("a database with its write-ahead log beside it", async () => {
    writeFileSync(`${backup}-wal`, "");
    await refused(
      backup,
      `${backup}-wal exists: ${backup} is in use or was copied while in use; make the copy with gatehouse backup`,
    );
  });
});
