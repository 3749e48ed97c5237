import { findUserByEmail, listUsers } from "../accounts/users-store.ts";
import { createUser, disableUser, normalizeEmail } from "../accounts/users.ts";
import { parseDurationSeconds } from "../config.ts";
import { listLiveApiKeys } from "../keys/api-keys-store.ts";
import { accessLevelOf, createApiKey, revokeApiKey } from "../keys/api-keys.ts";
import { isoDate, now, required, RuntimeError, table, UsageError, withDb, type Command } from "./command.ts";

// `gatehouse user …` and `gatehouse key …`: accounts and API keys from a shell.
export const accountCommands: Record<string, Command> = {
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
};
