import { groupKeyOf, type Access, type AccessOffer } from "../mcp/access.ts";
import { checkToolChoice, unknownToolsMessage } from "../mcp/tool-permissions.ts";
import { field, fieldValues } from "./context.ts";

/**
 * The access an access form (views/access.tsx) asks for: `access` is read,
 * full or chosen; for chosen, the ticked `tool`s plus every tool of each
 * ticked `tool_group` (a group's tick-all, which works without script). Only
 * what `offer` offers is accepted: a choice or tool beyond it is refused,
 * never trimmed, so nobody gets less (or more) than the form said.
 */
export function accessFromForm(
  body: unknown,
  offer: AccessOffer,
): { ok: true; access: Access } | { ok: false; error: string } {
  const choice = field(body, "access");
  if (choice === "read") return { ok: true, access: { level: "read", tools: [] } };
  if (choice === "full" && offer.full) return { ok: true, access: { level: "full", tools: null } };
  if (choice !== "chosen" || !offer.chosen)
    return { ok: false, error: `Choose an access level: ${offeredWords(offer)}.` };
  const groups = fieldValues(body, "tool_group");
  const grouped = offer.tools.filter((tool) => groups.includes(groupKeyOf(tool))).map((tool) => tool.name);
  const check = checkToolChoice(
    [...fieldValues(body, "tool"), ...grouped],
    offer.tools.map((tool) => tool.name),
  );
  if (!check.ok) return { ok: false, error: unknownToolsMessage(check.unknown) };
  if (check.tools.length === 0)
    return {
      ok: false,
      error: `Tick at least one write tool, or choose ${offer.full ? "Full or Read-only" : "Read-only"}.`,
    };
  return { ok: true, access: { level: "full", tools: check.tools } };
}

function offeredWords(offer: AccessOffer): string {
  const words = [
    "Read-only",
    ...(offer.full ? ["Full"] : []),
    ...(offer.chosen ? ["Full with only the write tools you tick"] : []),
  ];
  return words.length === 1 ? words[0]! : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}
