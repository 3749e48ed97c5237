import { permittedWriteTools } from "../mcp/tool-permissions.ts";
import { listConnections, revokeConnection } from "../oauth/connections.ts";
import { findAuthorization } from "../oauth/authorizations-store.ts";
import { writeToolsCell } from "./account-commands.ts";
import { commandAudit, isoDate, now, RuntimeError, table, userFilter, withDb, type Command } from "./command.ts";

// `gatehouse connection …`: the OAuth connections (approved authorizations)
// the keys page lists, from a shell. Revoking is the page's own revocation.
export const connectionCommands: Record<string, Command> = {
  "connection list": {
    usage: "gatehouse connection list [--user EMAIL]",
    summary: "list live OAuth connections (apps people connected; never their tokens)",
    options: { user: { type: "string" } },
    run({ values, config, io }) {
      return withDb(config, async (db) => {
        const userId = await userFilter(db, values.user);
        const rows = (await listConnections(db, userId)).map((c) => [
          c.id,
          c.userEmail,
          c.clientName,
          c.access,
          writeToolsCell(permittedWriteTools(c.access, c.tools)),
          isoDate(c.createdAt),
          c.lastUsedAt ? isoDate(c.lastUsedAt) : "never",
        ]);
        io.out(table(["ID", "USER", "CLIENT", "ACCESS", "WRITE TOOLS", "CREATED", "LAST USED"], rows));
      });
    },
  },
  "connection revoke": {
    usage: "gatehouse connection revoke ID",
    summary: "revoke an OAuth connection: its grant and every token it issued stop working at once",
    positionals: 1,
    run({ positionals, config, io }) {
      return withDb(config, async (db) => {
        const id = positionals[0]!;
        const owner = (await findAuthorization(db, id))?.userId;
        if (!(await revokeConnection(db, { id, ownerId: null, now: now() })))
          throw new RuntimeError(`no live connection with the id ${id}`);
        commandAudit(db, config, io).record({
          event: "connection_revoked",
          outcome: "ok",
          userId: owner,
          grantId: id,
          detail: { via: "cli" },
        });
        io.out(`revoked ${id}\n`);
      });
    },
  },
};
