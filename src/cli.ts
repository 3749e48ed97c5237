import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import pkg from "../package.json";
import { findUserByEmail, listUsers } from "./accounts/users-store.ts";
import { AccountError, createUser, disableUser, normalizeEmail } from "./accounts/users.ts";
import { ConfigError, loadConfig, parseDurationSeconds, settings, type Config } from "./config.ts";
import { databaseFileName, openDatabase, type Db } from "./db/client.ts";
import { migrate, NewerDatabaseError } from "./db/migrate.ts";
import { listLiveApiKeys } from "./keys/api-keys-store.ts";
import { accessLevelOf, ApiKeyError, createApiKey, revokeApiKey } from "./keys/api-keys.ts";
import { createLogger } from "./log.ts";
import { serve } from "./serve.ts";

export interface Io {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  readStdin: () => Promise<string>;
}

/** Bad arguments: exit 2. Anything else that fails: exit 1. */
class UsageError extends Error {}
class RuntimeError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;
const now = () => Math.floor(Date.now() / 1000);

interface Command {
  usage: string;
  summary: string;
  options?: Options;
  positionals?: number;
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[]; config: Config; io: Io }): Promise<void> | void;
}

const settingOptions: Options = Object.fromEntries(Object.values(settings).map((s) => [s.flag.slice(2), { type: "string" }]));

const commands: Record<string, Command> = {
  serve: {
    usage: "gatehouse serve [settings]",
    summary: "start the server (the default command)",
    async run({ config }) {
      const log = createLogger();
      const running = serve(config, openMigrated(config, log.info.bind(log, "migrated")), log);
      await running.stopped;
    },
  },
  migrate: {
    usage: "gatehouse migrate [settings]",
    summary: "apply pending database migrations and exit",
    run({ config, io }) {
      const db = openDatabase(config.dataDir);
      try {
        const { applied } = runMigrations(db);
        io.out(applied.length ? `applied ${applied.join(", ")}\n` : "database is up to date\n");
      } finally {
        db.$client.close();
      }
    },
  },
  "user add": {
    usage: "gatehouse user add --email EMAIL [--admin] [--password-stdin]",
    summary: "create a user (without --password-stdin the user signs in with an API key)",
    options: { email: { type: "string" }, admin: { type: "boolean" }, "password-stdin": { type: "boolean" } },
    async run({ values, config, io }) {
      const email = required(values, "email");
      const password = values["password-stdin"] ? (await io.readStdin()).replace(/\r?\n$/, "") : null;
      await withDb(config, async (db) => {
        const user = await createUser(db, { email, password, isAdmin: values.admin === true, now: now() });
        io.out(`created ${user.isAdmin ? "admin" : "user"} ${user.email}\n`);
      });
    },
  },
  "user list": {
    usage: "gatehouse user list",
    summary: "list users",
    run({ config, io }) {
      return withDb(config, (db) => {
        const rows = listUsers(db).map((u) => [u.email, u.isAdmin ? "admin" : "user", u.disabledAt ? "disabled" : "active", isoDate(u.createdAt)]);
        io.out(table(["EMAIL", "ROLE", "STATUS", "CREATED"], rows));
      });
    },
  },
  "user disable": {
    usage: "gatehouse user disable EMAIL",
    summary: "disable a user: their sessions and keys stop working at once",
    positionals: 1,
    run({ positionals, config, io }) {
      return withDb(config, (db) => {
        const user = disableUser(db, positionals[0]!, now());
        io.out(`disabled ${user.email}\n`);
      });
    },
  },
  "key create": {
    usage: "gatehouse key create --user EMAIL --name NAME [--read-only] [--expires-in 30d]",
    summary: "create an API key and print it, alone, on stdout",
    options: { user: { type: "string" }, name: { type: "string" }, "read-only": { type: "boolean" }, "expires-in": { type: "string" } },
    run({ values, config, io }) {
      const email = required(values, "user");
      const name = required(values, "name");
      const expiresIn = values["expires-in"];
      const expiresInSeconds = typeof expiresIn === "string" ? parseDurationSeconds(expiresIn) : null;
      if (typeof expiresIn === "string" && expiresInSeconds === null) {
        throw new UsageError(`--expires-in: expected a duration such as 3600, 12h or 30d, got "${expiresIn}"`);
      }
      return withDb(config, (db) => {
        const user = findUserByEmail(db, normalizeEmail(email) ?? email);
        if (!user) throw new RuntimeError(`no user with the email ${email}`);
        if (user.disabledAt !== null) throw new RuntimeError(`${user.email} is disabled`);
        const { token } = createApiKey(db, { userId: user.id, name, access: values["read-only"] ? "read" : "full", expiresInSeconds, now: now() });
        io.out(`${token}\n`);
      });
    },
  },
  "key list": {
    usage: "gatehouse key list [--user EMAIL]",
    summary: "list live API keys (never their secrets)",
    options: { user: { type: "string" } },
    run({ values, config, io }) {
      return withDb(config, (db) => {
        let userId: string | null = null;
        if (typeof values.user === "string") {
          const user = findUserByEmail(db, normalizeEmail(values.user) ?? values.user);
          if (!user) throw new RuntimeError(`no user with the email ${values.user}`);
          userId = user.id;
        }
        const rows = listLiveApiKeys(db, userId).map(({ apiKey: k, email }) => [
          k.id,
          email,
          k.name,
          accessLevelOf(k.scope),
          isoDate(k.createdAt),
          k.lastUsedAt ? isoDate(k.lastUsedAt) : "never",
          k.expiresAt ? isoDate(k.expiresAt) : "never",
        ]);
        io.out(table(["ID", "USER", "NAME", "ACCESS", "CREATED", "LAST USED", "EXPIRES"], rows));
      });
    },
  },
  "key revoke": {
    usage: "gatehouse key revoke ID",
    summary: "revoke an API key and end the sessions opened with it",
    positionals: 1,
    run({ positionals, config, io }) {
      return withDb(config, (db) => {
        if (!revokeApiKey(db, { id: positionals[0]!, ownerId: null, now: now() })) {
          throw new RuntimeError(`no live API key with the id ${positionals[0]}`);
        }
        io.out(`revoked ${positionals[0]}\n`);
      });
    },
  },
  backup: {
    usage: "gatehouse backup FILE",
    summary: "write a consistent copy of the database to FILE, safe while the server runs",
    positionals: 1,
    run({ positionals, config, io }) {
      const target = resolve(positionals[0]!);
      if (!existsSync(dirname(target))) throw new RuntimeError(`the directory ${dirname(target)} does not exist`);
      if (!existsSync(join(config.dataDir, databaseFileName))) throw new RuntimeError(`there is no database in ${resolve(config.dataDir)}`);
      // Created empty with 0600 first (VACUUM INTO fills an empty file): the copy
      // holds password and key hashes, so nobody else may read it, even mid-write.
      try {
        closeSync(openSync(target, "wx", 0o600));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new RuntimeError(`${target} already exists; choose a new file name`);
        throw error;
      }
      // Not migrated: a backup copies the database as it is, e.g. before an upgrade.
      const db = openDatabase(config.dataDir);
      try {
        // VACUUM INTO reads one snapshot, so writers carry on meanwhile (WAL).
        db.$client.run("VACUUM INTO ?", [target]);
      } catch (error) {
        rmSync(target, { force: true });
        throw error;
      } finally {
        db.$client.close();
      }
      io.out(`backed up to ${target}\n`);
    },
  },
};

function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

function runMigrations(db: Db) {
  try {
    return migrate(db.$client);
  } catch (error) {
    if (error instanceof NewerDatabaseError) throw new RuntimeError(error.message);
    throw error;
  }
}

function openMigrated(config: Config, onApplied: (fields: { migrations: string }) => void): Db {
  const db = openDatabase(config.dataDir);
  try {
    const { applied } = runMigrations(db);
    if (applied.length) onApplied({ migrations: applied.join(",") });
    return db;
  } catch (error) {
    db.$client.close();
    throw error;
  }
}

async function withDb(config: Config, fn: (db: Db) => void | Promise<void>): Promise<void> {
  const db = openMigrated(config, () => {});
  try {
    await fn(db);
  } finally {
    db.$client.close();
  }
}

function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ");
}

function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}

function helpText(): string {
  const lines = ["Gatehouse: OAuth 2.1 authorization server and MCP gateway.", "", "Usage: gatehouse [command] [flags]", "", "Commands:"];
  lines.push(...commandLines(""), "", "Settings (flag, or environment variable; flags win):");
  for (const s of Object.values(settings)) {
    const dflt = "default" in s ? ` (default ${s.default})` : "";
    lines.push(`  ${s.flag} VALUE, ${s.env}`, `      ${s.help}${dflt}`);
  }
  lines.push("", "  --help     show help for a command", "  --version  print the version", "");
  return lines.join("\n");
}

function commandLines(prefix: string): string[] {
  return Object.entries(commands).flatMap(([name, c]) => (name.startsWith(prefix) ? [`  ${c.usage}`, `      ${c.summary}`] : []));
}

function findCommand(argv: string[]): { name: string; rest: string[] } {
  const [first, second] = argv;
  if (first === undefined || first.startsWith("-")) return { name: "serve", rest: argv };
  if (second !== undefined && commands[`${first} ${second}`]) return { name: `${first} ${second}`, rest: argv.slice(2) };
  if (commands[first]) return { name: first, rest: argv.slice(1) };
  if (first === "user" || first === "key") {
    throw new UsageError(`"${first}" needs a subcommand: ${Object.keys(commands).filter((c) => c.startsWith(`${first} `)).join(", ")}`);
  }
  throw new UsageError(`unknown command "${first}"; see gatehouse --help`);
}

/** Runs one CLI invocation; resolves to the process exit code. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  try {
    if (argv.includes("--version")) {
      io.out(`gatehouse ${pkg.version}\n`);
      return 0;
    }
    if ((argv[0] === "user" || argv[0] === "key") && (argv[1] === "--help" || argv[1] === "-h")) {
      io.out([`Usage: gatehouse ${argv[0]} COMMAND [flags]`, "", "Commands:", ...commandLines(`${argv[0]} `), ""].join("\n"));
      return 0;
    }
    const { name, rest } = findCommand(argv);
    const command = commands[name]!;
    if (rest.includes("--help") || rest.includes("-h")) {
      const general = name === "serve" && argv[0] !== "serve";
      io.out(general ? helpText() : `Usage: ${command.usage}\n  ${command.summary}\n\nAlso accepts the settings flags listed in gatehouse --help.\n`);
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: { ...settingOptions, ...command.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const expected = command.positionals ?? 0;
    if (parsed.positionals.length !== expected) {
      throw new UsageError(expected === 0 ? `unexpected argument "${parsed.positionals[0]}"` : `usage: ${command.usage}`);
    }
    const flags = Object.fromEntries(
      Object.entries(parsed.values).filter(([k, v]) => typeof v === "string" && `--${k}` in flagToSetting).map(([k, v]) => [`--${k}`, v as string]),
    );
    const config = loadConfig(io.env, flags);
    const values = parsed.values as Record<string, string | boolean | undefined>;
    await command.run({ values, positionals: parsed.positionals, config, io });
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.err(`gatehouse: ${error.message}\n`);
      return 2;
    }
    if (error instanceof RuntimeError || error instanceof AccountError || error instanceof ApiKeyError) {
      io.err(`gatehouse: ${error.message}\n`);
      return 1;
    }
    io.err(`gatehouse: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

const flagToSetting = Object.fromEntries(Object.values(settings).map((s) => [s.flag, s.env]));
