import { createServiceAccount, lastUseOf } from "../accounts/service-accounts.ts";
import { listServiceAccounts } from "../accounts/service-accounts-store.ts";
import { AccountError } from "../accounts/users.ts";
import { accessLevelOf } from "../keys/api-keys.ts";
import { permittedWriteTools } from "../mcp/tool-permissions.ts";
import { mcpResourceUrl } from "../oauth/resource.ts";
import { writeToolsCell } from "./account-commands.ts";
import {
  commandAudit,
  isoDate,
  now,
  required,
  RuntimeError,
  table,
  UsageError,
  withDb,
  type Command,
} from "./command.ts";
import { checkedWriteTools, parseToolsFlag } from "./write-tools.ts";

// Service accounts from the command line, for setting up CI without a
// browser. Disable one with `gatehouse user disable NAME@service.invalid`.
export const serviceCommands: Record<string, Command> = {
  "service create": {
    usage: "gatehouse service create --name NAME [--read-only | --tools TOOL,TOOL]",
    summary:
      "create a service account; prints its client_id and client_secret (shown once) for grant_type=client_credentials; access as for key create: --read-only, Full by default, or --tools",
    options: { name: { type: "string" }, "read-only": { type: "boolean" }, tools: { type: "string" } },
    run({ values, config, io }) {
      const name = required(values, "name");
      const chosen = typeof values.tools === "string" ? parseToolsFlag(values.tools) : null;
      if (chosen && values["read-only"])
        throw new UsageError("--tools limits the write tools of a Full account; a --read-only account calls none");
      return withDb(config, async (db) => {
        const tools = chosen && (await checkedWriteTools(config, io.env, db, chosen));
        const access = values["read-only"] ? "read" : "full";
        try {
          const { account, clientSecret } = await createServiceAccount(db, {
            name,
            access,
            tools,
            resource: mcpResourceUrl(config.publicUrl),
            now: now(),
          });
          const detail = { service_account: account.user.name, access, tools, via: "cli" };
          commandAudit(db, config, io).record({
            event: "service_account_created",
            outcome: "ok",
            userId: account.user.id,
            clientId: account.client.id,
            detail,
          });
          io.out(`client_id=${account.client.id}\nclient_secret=${clientSecret}\n`);
        } catch (error) {
          if (error instanceof AccountError) throw new RuntimeError(error.message);
          throw error;
        }
      });
    },
  },
  "service list": {
    usage: "gatehouse service list",
    summary: "list service accounts with their client_id, access and last use (never secrets)",
    run({ config, io }) {
      return withDb(config, async (db) => {
        const rows = (await listServiceAccounts(db)).map((a) => {
          const access = accessLevelOf(a.authorization.scope);
          const lastUse = lastUseOf(a);
          return [
            a.user.name ?? "",
            a.client.id,
            access,
            writeToolsCell(permittedWriteTools(access, a.authorization.tools)),
            a.user.disabledAt ? "disabled" : "active",
            isoDate(a.user.createdAt),
            lastUse ? isoDate(lastUse) : "never",
          ];
        });
        io.out(table(["NAME", "CLIENT ID", "ACCESS", "WRITE TOOLS", "STATUS", "CREATED", "LAST USED"], rows));
      });
    },
  },
};
