import { limitWords, type ArgumentRefusal } from "./argument-gates.ts";
import type { Caller } from "./caller.ts";
import type { DeniedCall } from "./gating.ts";
import { jsonRpcIdOf } from "./rate-limit.ts";

// A tools/call of a write tool the key or connection was not granted, or
// with an argument outside its limits or an admin policy's. It is
// answered before dispatch, like the 403 for a missing scope, so it works
// the same on every protocol revision and for 2025-era batches, and the SDK
// never sees the call. But it is NOT a 403: MCP clients answer a 403
// insufficient_scope by asking for more scope, which cannot help here (a
// tool permission is a person's choice on the consent page, not a scope), so they
// would loop. It is an HTTP 200 carrying a JSON-RPC error, which clients
// show as the call's failure.

/**
 * JSON-RPC server-defined error (-32000..-32099), unused by MCP and its SDK;
 * "03" for HTTP 403, as the rate limit's -32029 is for 429.
 */
export const permissionDeniedCode = -32003;

interface Refusal {
  tool: string;
  /** `grant:<tool>` (a missing tool permission; the wire keeps the older word) or `argument:<name>`: what the call lacked. */
  missing: string;
  message: string;
  hint: string;
}

function refusalOf(caller: Caller, denied: DeniedCall, keysUrl: string): Refusal {
  const tool = denied.tool.name;
  if (denied.argument) return argumentRefusalOf(caller, tool, denied.argument, keysUrl);
  const { via } = caller;
  if (via.kind === "api_key") {
    return {
      tool,
      missing: `grant:${tool}`,
      message: `The API key "${via.name}" may not call ${tool}: it was created for other write tools.`,
      hint: `Create an API key with Full access and ${tool} ticked at ${keysUrl}, or with: gatehouse key create --user ${caller.email} --name NAME --tools ${tool}`,
    };
  }
  return {
    tool,
    missing: `grant:${tool}`,
    message: `This connection of ${via.clientName} may not call ${tool}: it was not ticked when access was given.`,
    hint: `Connect ${via.clientName} to Gatehouse again, choose Full access on the consent page and tick ${tool}.`,
  };
}

/** An argument outside a limit: whose limit it was says who can change it. */
function argumentRefusalOf(caller: Caller, tool: string, refusal: ArgumentRefusal, keysUrl: string): Refusal {
  const only = `only with ${limitWords(refusal.argument, refusal.allowed)} (a string at the top level of the arguments)`;
  const missing = `argument:${refusal.argument}`;
  const { via } = caller;
  if (refusal.source === "policy") {
    return {
      tool,
      missing,
      message: `An admin policy of this Gatehouse allows ${tool} ${only}.`,
      hint: `Call it with an allowed ${refusal.argument}, or ask a Gatehouse admin to change the [[policy]] in its config file.`,
    };
  }
  if (via.kind === "api_key") {
    return {
      tool,
      missing,
      message: `The API key "${via.name}" may call ${tool} ${only}.`,
      hint: `Call it with an allowed ${refusal.argument}, or create an API key with other argument limits at ${keysUrl} (or gatehouse key create --allow ${tool}:${refusal.argument}=PATTERN).`,
    };
  }
  return {
    tool,
    missing,
    message: `This connection of ${via.clientName} may call ${tool} ${only}.`,
    hint: `Call it with an allowed ${refusal.argument}, or change the connection's argument limits at ${keysUrl}.`,
  };
}

function errorOf(refusal: Refusal, message: string, requestId: string) {
  return {
    code: permissionDeniedCode,
    message,
    data: {
      error: "permission_denied",
      tool: refusal.tool,
      missing: refusal.missing,
      hint: refusal.hint,
      request_id: requestId,
    },
  };
}

/**
 * The answer to a body with `denied` calls (none missing a scope): for one
 * message, its error; for a batch, an error for each request in it (JSON-RPC
 * 2.0 §6), since none of it is run: each denied call names its own tool,
 * every other request the first denied one.
 */
export function permissionDeniedResponse(
  body: unknown,
  denied: readonly DeniedCall[],
  caller: Caller,
  ctx: { requestId: string; keysUrl: string; headers: Record<string, string> },
): Response {
  const refusals = new Map(denied.map((d) => [d.index, refusalOf(caller, d, ctx.keysUrl)]));
  const first = refusals.get(denied[0]!.index)!;
  const answer = (message: unknown, index: number) => {
    const own = refusals.get(index);
    const error = own
      ? errorOf(own, own.message, ctx.requestId)
      : errorOf(first, `Not run: this batch also calls ${first.tool}, which is refused.`, ctx.requestId);
    return { jsonrpc: "2.0", id: jsonRpcIdOf(message), error };
  };
  const payload = Array.isArray(body)
    ? body.flatMap((message, index) =>
        refusals.has(index) || jsonRpcIdOf(message) !== null ? [answer(message, index)] : [],
      )
    : answer(body, 0);
  return Response.json(payload, { status: 200, headers: { "cache-control": "no-store", ...ctx.headers } });
}
