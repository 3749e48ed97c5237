import { type CallToolResult, SdkError, SdkErrorCode, type StandardSchemaV1 } from "@modelcontextprotocol/client";
import { isObject } from "../json-object.ts";

// What Gatehouse checks of an upstream's tools/call result before passing it
// on: the shape it relies on (MCP 2025-06-18 server/tools#tool-result), not
// every content block field by field. The SDK Client's callTool validates
// the whole result with its schema and then structuredContent against the
// tool's outputSchema; Gatehouse's own serving instance checks the latter
// again (the tool keeps the upstream's outputSchema, upstream-tools.ts), and
// the caller's client reads the blocks. An input_required result never gets
// here: the SDK hands it over as it is (allowInputRequired).

type Check = { ok: true } | { ok: false; problem: string };

function check(result: Record<string, unknown>): Check {
  const { content, isError, structuredContent } = result;
  if (!Array.isArray(content)) return { ok: false, problem: "content is not an array" };
  for (const [index, block] of content.entries())
    if (!isObject(block) || typeof block.type !== "string")
      return { ok: false, problem: `content[${index}] has no type` };
  if (isError !== undefined && typeof isError !== "boolean") return { ok: false, problem: "isError is not a boolean" };
  if (structuredContent !== undefined && !isObject(structuredContent))
    return { ok: false, problem: "structuredContent is not an object" };
  return { ok: true };
}

/** The result schema Gatehouse asks for with client.request: a malformed result fails with "Invalid result for tools/call: <problem>". */
export const forwardedCallResult: StandardSchemaV1<unknown, CallToolResult> = {
  "~standard": {
    version: 1,
    vendor: "gatehouse",
    validate(value) {
      if (!isObject(value)) return { issues: [{ message: "the result is not an object" }] };
      // A result without content is an empty one, as the SDK's own schema reads it.
      const result = value.content === undefined ? { ...value, content: [] } : value;
      const checked = check(result);
      return checked.ok ? { value: result as CallToolResult } : { issues: [{ message: checked.problem }] };
    },
  },
};

/** A result Gatehouse received itself (own-requests.ts), checked as client.request checks it, in the SDK's words. */
export function checkedCallResult(value: unknown): CallToolResult {
  const checked = forwardedCallResult["~standard"].validate(value) as StandardSchemaV1.Result<CallToolResult>;
  if (checked.issues) {
    const problems = checked.issues.map((issue) => issue.message).join(", ");
    throw new SdkError(SdkErrorCode.InvalidResult, `Invalid result for tools/call: ${problems}`);
  }
  return checked.value;
}
