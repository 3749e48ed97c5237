import { isInputRequiredResult, type CallToolResult, type InputRequiredResult } from "@modelcontextprotocol/server";
import type { Caller } from "../mcp/caller.ts";
import type { ToolRun } from "../mcp/tools/definition.ts";
import type { AuditArgumentsMode } from "../config.ts";
import { auditArguments } from "./arguments.ts";
import type { AuditContext, AuditEntry, AuditOutcome } from "./entry.ts";
import type { AuditRecorder } from "./recorder.ts";

// One audit entry per tools/call: who (user, and the API key or the OAuth
// client and connection), which tool of which upstream, how it ended and how
// long it took. Built-in and upstream tools alike pass through
// auditedToolCall (src/mcp/server.ts); calls refused before dispatch (the
// 403 scope gate) are recorded with refusedToolCall. A call that answers
// with an input-required round (MCP 2026-07-28) is an entry with outcome
// input_required and the methods it asks (never their content); the retry
// that answers is a tools/call of its own, gated and recorded again.

/** The first text of a failing result, cut short: why it failed. */
function errorTextOf(result: CallToolResult): string | undefined {
  const first = result.content?.find((c) => c.type === "text");
  if (first?.type !== "text") return undefined;
  return first.text.length > 300 ? `${first.text.slice(0, 300)}…` : first.text;
}

function whoOf(caller: Caller): Pick<AuditEntry, "userId" | "clientId" | "apiKeyId" | "grantId"> {
  const { via } = caller;
  return via.kind === "api_key"
    ? { userId: caller.userId, apiKeyId: via.id, clientId: null, grantId: null }
    : { userId: caller.userId, apiKeyId: null, clientId: via.clientId, grantId: via.id };
}

export interface AuditedTool {
  name: string;
  /** The upstream server's name; absent for Gatehouse's own tools. */
  upstream?: string;
}

/** What a round asks, by method: `["elicitation/create"]`. */
function askedOf(round: InputRequiredResult): string[] {
  return Object.values(round.inputRequests ?? {}).map((request) => request.method);
}

/** Runs a tool and records how it went; a throwing tool is recorded as an error and the throw passes on. */
export async function auditedToolCall(
  audit: AuditRecorder,
  call: { tool: AuditedTool; caller: Caller; args: unknown; context: AuditContext | null },
  run: () => ToolRun | Promise<ToolRun>,
): Promise<CallToolResult | InputRequiredResult> {
  const started = performance.now();
  const entry = (outcome: AuditOutcome, error: string | undefined, asked?: string[]): AuditEntry => {
    const args = auditArguments(audit.argumentsMode, call.args);
    const detail = {
      ...(args !== undefined && { arguments: args }),
      ...(error !== undefined && { error }),
      ...(asked !== undefined && { asked }),
    };
    return {
      event: "tool_call",
      outcome,
      ...whoOf(call.caller),
      tool: call.tool.name,
      upstream: call.tool.upstream ?? null,
      durationMs: performance.now() - started,
      ...call.context,
      detail: Object.keys(detail).length === 0 ? null : detail,
    };
  };
  let ran: ToolRun;
  try {
    ran = await run();
  } catch (error) {
    audit.record(entry("error", error instanceof Error ? error.message : String(error)));
    throw error;
  }
  const { result } = ran;
  if (isInputRequiredResult(result)) {
    audit.record(entry("input_required", undefined, askedOf(result)));
    return result;
  }
  // As the run says it ended (timeout, cancelled), else as the result's isError says.
  const outcome: AuditOutcome = ran.ended ?? (result.isError ? "error" : "ok");
  audit.record(entry(outcome, outcome === "ok" ? undefined : errorTextOf(result)));
  return result;
}

/**
 * A tools/call refused before it ran (scope, tool permission or argument gate):
 * outcome denied. `more`: for an argument outside a limit, `missing`
 * (`argument:<name>`) and the arguments per GATEHOUSE_AUDIT_ARGUMENTS, so the
 * log shows what was tried.
 */
export function refusedToolCall(
  caller: Caller,
  tool: AuditedTool,
  reason: string,
  context: AuditContext,
  more: { missing: string; args: unknown; argumentsMode: AuditArgumentsMode } | null = null,
): AuditEntry {
  const args = more === null ? undefined : auditArguments(more.argumentsMode, more.args);
  const detail = { reason, ...(more && { missing: more.missing }), ...(args !== undefined && { arguments: args }) };
  return {
    event: "tool_call",
    outcome: "denied",
    ...whoOf(caller),
    tool: tool.name,
    upstream: tool.upstream ?? null,
    ...context,
    detail,
  };
}
