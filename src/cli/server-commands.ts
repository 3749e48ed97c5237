import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { databaseFileName, openDatabase } from "../db/client.ts";
import { openStore } from "../db/open.ts";
import { backupTo, closeStore } from "../db/operations.ts";
import { restoreDatabase } from "../db/restore.ts";
import { holdServerLock } from "../db/server-lock.ts";
import { loadGatewayConfig } from "../gateway/config.ts";
import { loadIdentityProviders } from "../identity/config.ts";
import { loadPolicies } from "../mcp/policy-config.ts";
import { createLogger } from "../log.ts";
import { openMigrated, RuntimeError, runMigrations, type Command } from "./command.ts";

// Running, checking and keeping the server's data: serve, healthcheck, migrate, backup, restore.
export const serverCommands: Record<string, Command> = {
  serve: {
    usage: "gatehouse serve [settings]",
    summary: "start the server (the default command)",
    async run({ config, io }) {
      // A bad config file stops the start (exit 1) with one line naming the file, line and field.
      const gatewayConfig = config.configFile === null ? null : loadGatewayConfig(config.configFile, io.env);
      const identityProviders = config.configFile === null ? [] : loadIdentityProviders(config.configFile, io.env);
      const policies = config.configFile === null ? [] : loadPolicies(config.configFile);
      const log = createLogger();
      // SQLite: held until the server has stopped, so `gatehouse restore` refuses meanwhile.
      const releaseLock = config.database.kind === "sqlite" ? holdServerLock(config.dataDir) : () => {};
      try {
        const { serve } = await import("../serve.ts");
        const running = await serve(
          config,
          await openMigrated(config, log.info.bind(log, "migrated")),
          log,
          gatewayConfig,
          identityProviders,
          policies,
        );
        await running.stopped;
      } finally {
        releaseLock();
      }
    },
  },
  migrate: {
    usage: "gatehouse migrate [settings]",
    summary: "apply pending database migrations and exit",
    async run({ config, io }) {
      const db = openStore(config);
      try {
        const { applied } = await runMigrations(db);
        io.out(applied.length ? `applied ${applied.join(", ")}\n` : "database is up to date\n");
      } finally {
        await closeStore(db);
      }
    },
  },
  backup: {
    usage: "gatehouse backup FILE",
    summary: "write a consistent copy of the database to FILE, safe while the server runs",
    positionals: 1,
    async run({ positionals, config, io }) {
      if (config.database.kind === "postgres") {
        throw new RuntimeError(
          'the database is PostgreSQL: back it up with pg_dump (pg_dump --format=custom --file=FILE "$GATEHOUSE_DATABASE_URL"), which is safe while instances run',
        );
      }
      const target = resolve(positionals[0]!);
      if (!existsSync(dirname(target))) throw new RuntimeError(`the directory ${dirname(target)} does not exist`);
      if (!existsSync(join(config.dataDir, databaseFileName)))
        throw new RuntimeError(`there is no database in ${resolve(config.dataDir)}`);
      // Created empty with 0600 first (VACUUM INTO fills an empty file): the copy
      // holds password and key hashes, so nobody else may read it, even mid-write.
      try {
        closeSync(openSync(target, "wx", 0o600));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST")
          throw new RuntimeError(`${target} already exists; choose a new file name`);
        throw error;
      }
      // Not migrated: a backup copies the database as it is, e.g. before an upgrade.
      const db = openDatabase(config.dataDir);
      try {
        backupTo(db, target);
      } catch (error) {
        rmSync(target, { force: true });
        throw error;
      } finally {
        await closeStore(db);
      }
      io.out(`backed up to ${target}\n`);
    },
  },
  restore: {
    usage: "gatehouse restore FILE",
    summary: "replace the database with FILE, a backup, after checking it; the server must be stopped",
    positionals: 1,
    run({ positionals, config, io }) {
      if (config.database.kind === "postgres") {
        throw new RuntimeError(
          'the database is PostgreSQL: restore a pg_dump archive with pg_restore (pg_restore --clean --if-exists --dbname="$GATEHOUSE_DATABASE_URL" FILE), with every instance stopped',
        );
      }
      const file = resolve(positionals[0]!);
      const { database, keptAs, applied } = restoreDatabase(resolve(config.dataDir), file, new Date());
      if (keptAs) io.out(`kept the database it replaces as ${keptAs}\n`);
      if (applied.length) io.out(`applied ${applied.join(", ")}\n`);
      io.out(`restored ${file} into ${database}\n`);
    },
  },
  healthcheck: {
    usage: "gatehouse healthcheck [settings]",
    summary: "exit 0 when the server on this machine answers /readyz (for Docker's HEALTHCHECK)",
    async run({ config, io }) {
      const url = `http://${loopbackFor(config.host)}:${config.port}/readyz`;
      let status: number;
      try {
        status = (await fetch(url, { signal: AbortSignal.timeout(3000) })).status;
      } catch (error) {
        throw new RuntimeError(`${url} did not answer: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (status !== 200) throw new RuntimeError(`${url} answered ${status}`);
      io.out("ok\n");
    },
  },
};

/** The address to reach a server that listens on `host` from this machine. */
function loopbackFor(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
