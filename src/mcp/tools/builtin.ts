import { fromJsonSchema } from "@modelcontextprotocol/server";
import type { Store } from "../../db/store.ts";
import { accessLevelOf, revokeApiKey } from "../../keys/api-keys.ts";
import { listLiveApiKeys } from "../../keys/api-keys-store.ts";
import { listConnections, revokeConnection } from "../../oauth/connections.ts";
import { limitItems, type ArgumentLimits } from "../argument-gates.ts";
import type { Caller } from "../caller.ts";
import { permittedWriteTools } from "../tool-permissions.ts";
import { defineTool, isoTime, jsonResult, toolError, type ToolDefinition } from "./definition.ts";

// Gatehouse's own tools, always present beside upstream tools. The prefix
// keeps them apart from any upstream's names.
export const builtinPrefix = "gatehouse__";

export interface BuiltinDeps {
  db: Store;
  /** Unix seconds. */
  now: () => number;
}

const noArguments = fromJsonSchema<Record<string, never>>({
  type: "object",
  properties: {},
  additionalProperties: false,
});

const revokeArguments = fromJsonSchema<{ kind: "api_key" | "connection"; id: string }>({
  type: "object",
  properties: {
    kind: {
      type: "string",
      enum: ["api_key", "connection"],
      description: "What to revoke: an API key or an OAuth connection.",
    },
    id: {
      type: "string",
      minLength: 1,
      maxLength: 64,
      description: "Its id, as gatehouse__list_connections shows it.",
    },
  },
  required: ["kind", "id"],
  additionalProperties: false,
});

function whoami(caller: Caller) {
  const { via } = caller;
  return jsonResult({
    email: caller.email,
    via: via.kind,
    name: via.kind === "api_key" ? via.name : via.clientName,
    access: caller.access,
    scope: caller.scopes.join(" "),
    write_tools: permittedWriteTools(caller.access, caller.tools),
    argument_limits: caller.limits.flatMap((source) =>
      limitsOut(source.limits, source.kind === "policy" ? "policy" : via.kind),
    ),
    expires_at: isoTime(caller.expiresAt),
  });
}

/** Argument limits as tools answer them: one entry per tool and argument, with who set it. */
function limitsOut(limits: ArgumentLimits | null, setBy: "api_key" | "connection" | "policy") {
  return limitItems(limits).map(({ tool, argument, allowed }) => ({ tool, argument, allow: allowed, set_by: setBy }));
}

async function listOwnConnections(deps: BuiltinDeps, caller: Caller) {
  const now = deps.now();
  const apiKeys = (await listLiveApiKeys(deps.db, caller.userId))
    .filter(({ apiKey }) => apiKey.expiresAt === null || apiKey.expiresAt > now)
    .map(({ apiKey }) => ({
      id: apiKey.id,
      name: apiKey.name,
      access: accessLevelOf(apiKey.scope),
      write_tools: permittedWriteTools(accessLevelOf(apiKey.scope), apiKey.tools),
      argument_limits: limitsOut(apiKey.argumentLimits, "api_key"),
      created_at: isoTime(apiKey.createdAt),
      last_used_at: isoTime(apiKey.lastUsedAt),
      expires_at: isoTime(apiKey.expiresAt),
      current: caller.via.kind === "api_key" && caller.via.id === apiKey.id,
    }));
  const connections = (await listConnections(deps.db, caller.userId)).map((c) => ({
    id: c.id,
    name: c.name,
    access: c.access,
    write_tools: permittedWriteTools(c.access, c.tools),
    argument_limits: limitsOut(c.argumentLimits, "connection"),
    created_at: isoTime(c.createdAt),
    last_used_at: isoTime(c.lastUsedAt),
    current: caller.via.kind === "connection" && caller.via.id === c.id,
  }));
  return jsonResult({ api_keys: apiKeys, connections });
}

async function revokeOwn(deps: BuiltinDeps, caller: Caller, args: { kind: "api_key" | "connection"; id: string }) {
  const input = { id: args.id, ownerId: caller.userId, now: deps.now() };
  const revoked = await (args.kind === "api_key" ? revokeApiKey(deps.db, input) : revokeConnection(deps.db, input));
  // The same answer for "not yours" and "no such": ids of others stay unconfirmed.
  if (!revoked)
    return toolError(`You have no live ${args.kind === "api_key" ? "API key" : "connection"} with id ${args.id}.`);
  return jsonResult({ revoked: true, kind: args.kind, id: args.id });
}

export function builtinTools(deps: BuiltinDeps): ToolDefinition[] {
  return [
    defineTool({
      name: `${builtinPrefix}whoami`,
      title: "Who am I",
      description:
        'Shows who this MCP connection acts as: the account\'s email, the API key or client it uses, its access level and scope, the write tools it may call ("all" or their names), the argument limits on its calls (its own and those of an admin policy), and when it expires.',
      inputSchema: noArguments,
      annotations: { readOnlyHint: true, openWorldHint: false },
      requiredScopes: ["mcp:read"],
      run: (caller) => whoami(caller),
    }),
    defineTool({
      name: `${builtinPrefix}list_connections`,
      title: "List my keys and connections",
      description:
        'Lists your live Gatehouse API keys and OAuth connections (apps you approved), with ids, access levels, the write tools each may call ("all" or their names), their argument limits and last use. Never shows secrets.',
      inputSchema: noArguments,
      annotations: { readOnlyHint: true, openWorldHint: false },
      requiredScopes: ["mcp:read"],
      run: (caller) => listOwnConnections(deps, caller),
    }),
    defineTool({
      name: `${builtinPrefix}revoke_connection`,
      title: "Revoke one of my keys or connections",
      description:
        "Revokes one of your own API keys or OAuth connections at once, by the id gatehouse__list_connections shows. Revoking the key or connection this session uses ends this session.",
      inputSchema: revokeArguments,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      requiredScopes: ["mcp:read", "mcp:write"],
      run: (caller, args) => revokeOwn(deps, caller, args),
    }),
  ];
}
