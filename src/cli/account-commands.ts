import { createInvitation, invitationTtlSeconds, invitationUrl } from "../accounts/invitations.ts";
import { findUserByEmail, listUsers, type User } from "../accounts/users-store.ts";
import { createUser, disableUser, normalizeEmail, setPassword } from "../accounts/users.ts";
import { parseDurationSeconds } from "../config.ts";
import { findApiKeyWithUser, listLiveApiKeys } from "../keys/api-keys-store.ts";
import { accessLevelOf, createApiKey, revokeApiKey, rotateApiKey } from "../keys/api-keys.ts";
import { permittedWriteTools } from "../mcp/tool-permissions.ts";
import {
  commandAudit,
  isoDate,
  now,
  required,
  RuntimeError,
  table,
  UsageError,
  userFilter,
  withDb,
  type Command,
} from "./command.ts";
import { limitLines } from "../mcp/argument-gates.ts";
import { checkedWriteTools, parseAllowFlags, parseToolsFlag } from "./write-tools.ts";

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
        const user = await createUser(db, {
          email,
          password,
          passwordCost: config.passwordHashCost,
          isAdmin: values.admin === true,
          now: now(),
        });
        io.out(`created ${user.isAdmin ? "admin" : "user"} ${user.email}\n`);
      });
    },
  },
  "user password": {
    usage: "gatehouse user password --email EMAIL --password-stdin",
    summary:
      "set or replace a user's password, read from stdin (admin pages need a password or identity-provider sign-in); ends their sessions",
    options: { email: { type: "string" }, "password-stdin": { type: "boolean" } },
    async run({ values, config, io }) {
      const email = required(values, "email");
      if (!values["password-stdin"])
        throw new UsageError(
          "--password-stdin is required: pipe the password in, so it never appears in the process list or shell history",
        );
      const password = (await io.readStdin()).replace(/\r?\n$/, "");
      await withDb(config, async (db) => {
        const user = await setPassword(db, { email, password, passwordCost: config.passwordHashCost });
        commandAudit(db, config, io).record({
          event: "password_set",
          outcome: "ok",
          userId: user.id,
          detail: { email: user.email, via: "cli" },
        });
        io.out(`password set for ${user.email}\n`);
      });
    },
  },
  "user list": {
    usage: "gatehouse user list",
    summary: "list users",
    run({ config, io }) {
      return withDb(config, async (db) => {
        const role = (u: User) => (u.kind === "service" ? "service" : u.isAdmin ? "admin" : "user");
        const rows = (await listUsers(db)).map((u) => [
          u.email,
          role(u),
          u.disabledAt ? "disabled" : "active",
          isoDate(u.createdAt),
        ]);
        io.out(table(["EMAIL", "ROLE", "STATUS", "CREATED"], rows));
      });
    },
  },
  "user disable": {
    usage: "gatehouse user disable EMAIL",
    summary: "disable a user: their sessions and keys stop working at once",
    positionals: 1,
    run({ positionals, config, io }) {
      return withDb(config, async (db) => {
        const user = await disableUser(db, positionals[0]!, now());
        commandAudit(db, config, io).record({
          event: "user_disabled",
          outcome: "ok",
          userId: user.id,
          detail: { email: user.email, via: "cli" },
        });
        io.out(`disabled ${user.email}\n`);
      });
    },
  },
  "user invite": {
    usage: "gatehouse user invite --email EMAIL [--admin] [--expires-in 7d]",
    summary: "create a single-use invitation link (default lifetime 7d) and print it, alone, on stdout",
    options: { email: { type: "string" }, admin: { type: "boolean" }, "expires-in": { type: "string" } },
    run({ values, config, io }) {
      const email = required(values, "email");
      const expiresIn = values["expires-in"];
      const expiresInSeconds = typeof expiresIn === "string" ? parseDurationSeconds(expiresIn) : invitationTtlSeconds;
      if (expiresInSeconds === null || expiresInSeconds <= 0) {
        throw new UsageError(`--expires-in: expected a duration such as 3600, 12h or 7d, got "${expiresIn}"`);
      }
      return withDb(config, async (db) => {
        const { invitation, token } = await createInvitation(db, {
          email,
          isAdmin: values.admin === true,
          createdBy: null,
          now: now(),
          expiresInSeconds,
        });
        const detail = { invitation_id: invitation.id, email: invitation.email, admin: invitation.isAdmin, via: "cli" };
        commandAudit(db, config, io).record({ event: "invitation_created", outcome: "ok", detail });
        io.out(`${invitationUrl(config.publicUrl, token)}\n`);
      });
    },
  },
  "key create": {
    usage:
      "gatehouse key create --user EMAIL --name NAME [--read-only | --tools TOOL,TOOL] [--allow TOOL:ARGUMENT=PATTERN]... [--expires-in 30d]",
    summary:
      "create an API key and print it, alone, on stdout; access: --read-only is Read-only, no flag is Full (every write tool, also ones added later), --tools is Full with only those write tools; each --allow lets a write tool run only where that top-level string argument matches the pattern (* does not cross /, ** does; e.g. --allow 'github__create_issue:repo=acme/*')",
    options: {
      user: { type: "string" },
      name: { type: "string" },
      "read-only": { type: "boolean" },
      tools: { type: "string" },
      allow: { type: "string", multiple: true },
      "expires-in": { type: "string" },
    },
    run({ values, config, io }) {
      const email = required(values, "user");
      const name = required(values, "name");
      const expiresIn = values["expires-in"];
      const expiresInSeconds = typeof expiresIn === "string" ? parseDurationSeconds(expiresIn) : null;
      if (typeof expiresIn === "string" && expiresInSeconds === null) {
        throw new UsageError(`--expires-in: expected a duration such as 3600, 12h or 30d, got "${expiresIn}"`);
      }
      const chosen = typeof values.tools === "string" ? parseToolsFlag(values.tools) : null;
      if (chosen && values["read-only"])
        throw new UsageError("--tools limits the write tools of a Full key; a --read-only key calls none");
      const limits = parseAllowFlags(
        Array.isArray(values.allow) ? values.allow : [],
        values["read-only"] === true,
        chosen,
      );
      return withDb(config, async (db) => {
        const user = await findUserByEmail(db, normalizeEmail(email) ?? email);
        if (!user) throw new RuntimeError(`no user with the email ${email}`);
        if (user.disabledAt !== null) throw new RuntimeError(`${user.email} is disabled`);
        if (user.kind === "service")
          throw new RuntimeError(
            `${user.email} is a service account: it gets tokens with client_credentials, not API keys`,
          );
        const tools = chosen && (await checkedWriteTools(config, io.env, db, chosen));
        // Without --tools the limited tools are checked on their own: a limit on a tool /mcp does not offer would never apply.
        if (limits && !tools) await checkedWriteTools(config, io.env, db, Object.keys(limits), "--allow");
        const access = values["read-only"] ? "read" : "full";
        const { apiKey, token } = await createApiKey(db, {
          userId: user.id,
          name,
          access,
          tools,
          argumentLimits: limits,
          expiresInSeconds,
          now: now(),
        });
        const detail = { name: apiKey.name, access, via: "cli", ...(limits && { argument_limits: limits }) };
        commandAudit(db, config, io).record({
          event: "key_created",
          outcome: "ok",
          userId: user.id,
          apiKeyId: apiKey.id,
          detail,
        });
        io.out(`${token}\n`);
      });
    },
  },
  "key list": {
    usage: "gatehouse key list [--user EMAIL]",
    summary: "list live API keys (never their secrets)",
    options: { user: { type: "string" } },
    run({ values, config, io }) {
      return withDb(config, async (db) => {
        const userId = await userFilter(db, values.user);
        const rows = (await listLiveApiKeys(db, userId)).map(({ apiKey: k, email }) => [
          k.id,
          email,
          k.name,
          accessLevelOf(k.scope),
          writeToolsCell(permittedWriteTools(accessLevelOf(k.scope), k.tools)),
          isoDate(k.createdAt),
          k.lastUsedAt ? isoDate(k.lastUsedAt) : "never",
          k.expiresAt ? isoDate(k.expiresAt) : "never",
          limitLines(k.argumentLimits).join(" ") || "none",
        ]);
        io.out(
          table(
            ["ID", "USER", "NAME", "ACCESS", "WRITE TOOLS", "CREATED", "LAST USED", "EXPIRES", "ARGUMENT LIMITS"],
            rows,
          ),
        );
      });
    },
  },
  "key revoke": {
    usage: "gatehouse key revoke ID",
    summary: "revoke an API key and end the sessions opened with it",
    positionals: 1,
    run({ positionals, config, io }) {
      return withDb(config, async (db) => {
        const id = positionals[0]!;
        const owner = (await findApiKeyWithUser(db, id))?.apiKey.userId;
        if (!(await revokeApiKey(db, { id, ownerId: null, now: now() })))
          throw new RuntimeError(`no live API key with the id ${id}`);
        commandAudit(db, config, io).record({
          event: "key_revoked",
          outcome: "ok",
          userId: owner,
          apiKeyId: id,
          detail: { via: "cli" },
        });
        io.out(`revoked ${id}\n`);
      });
    },
  },
  "key rotate": {
    usage: "gatehouse key rotate ID",
    summary:
      "give an API key a new secret (same name, access and lifetime) and print it, alone, on stdout; the old one stops working",
    positionals: 1,
    run({ positionals, config, io }) {
      return withDb(config, async (db) => {
        const id = positionals[0]!;
        const rotated = await rotateApiKey(db, { id, ownerId: null, now: now() });
        if (!rotated) throw new RuntimeError(`no live API key with the id ${id}`);
        const detail = { new_api_key_id: rotated.apiKey.id, via: "cli" };
        commandAudit(db, config, io).record({
          event: "key_rotated",
          outcome: "ok",
          userId: rotated.apiKey.userId,
          apiKeyId: id,
          detail,
        });
        io.out(`${rotated.token}\n`);
      });
    },
  },
};

/** A key's write tools in one table cell: all, none, or the names separated by commas. */
export function writeToolsCell(tools: "all" | string[]): string {
  if (tools === "all") return "all";
  return tools.length === 0 ? "none" : tools.join(",");
}
