import { checkToolChoice, unknownToolsMessage } from "../mcp/tool-grants.ts";
import { field, fieldValues } from "./context.ts";

/**
 * The write tools a Full key or service account is limited to, from the
 * form's WriteToolsChoice: null for every write tool (also when the form
 * predates the choice), the ticked names (each one on offer), or why not.
 */
export function writeToolsFromForm(body: unknown, offered: readonly string[]): { tools: string[] | null } | { error: string } {
  const mode = field(body, "write_tools") || "all";
  if (mode === "all") return { tools: null };
  if (mode !== "chosen") return { error: "Choose every write tool or only the ticked ones." };
  const check = checkToolChoice(fieldValues(body, "tool"), offered);
  if (!check.ok) return { error: unknownToolsMessage(check.unknown) };
  if (check.tools.length === 0) return { error: "Tick at least one write tool, or choose every write tool." };
  return { tools: check.tools };
}
