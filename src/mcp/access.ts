import type { AccessLevel } from "../keys/api-keys.ts";
import { limitsWithin, type ArgumentLimits } from "./argument-gates.ts";
import type { WriteToolChoice } from "./tool-permissions.ts";

// One access model for everything a person hands out: API keys, consent to
// an app (a connection), service accounts, and `gatehouse key create` /
// `service create`. Three choices, in the same words everywhere:
//   Read-only                              read tools only      (read, [])
//   Full                                   every write tool,    (full, null)
//                                          also ones added later
//   Full, only the write tools I tick      the ticked ones      (full, [names])
// Pure: the tools on offer and the ceiling are passed in.

/** What a key, connection or service account may call. `tools`: null is every write tool; a Read-only one has []. */
export interface Access {
  level: AccessLevel;
  tools: readonly string[] | null;
  /** Argument limits on its write tools (argument-gates.ts); null or absent: none. */
  limits?: ArgumentLimits | null;
}

/** The choice an access form posts as `access`. */
export type AccessChoice = "read" | "full" | "chosen";

/**
 * The most a signed-in person may hand out: null (no limit) after a password
 * or identity-provider sign-in; the key's own access in a session opened by
 * pasting an API key, so a leaked key never becomes more than itself.
 */
export type Ceiling = Access | null;

/**
 * Whether `access` is no more than `ceiling`: a level no higher, write tools
 * among the ceiling's, and argument limits at least as narrow.
 */
export function withinCeiling(access: Access, ceiling: Ceiling): boolean {
  if (ceiling === null || access.level === "read") return true;
  if (ceiling.level === "read") return false;
  const limit = ceiling.tools;
  const tools = limit === null || (access.tools?.every((name) => limit.includes(name)) ?? false);
  return tools && limitsWithin(access.limits ?? null, ceiling.limits ?? null, access.tools);
}

/** Which of the three choices a form offers, and the write tools it offers for ticking. */
export interface AccessOffer {
  full: boolean;
  chosen: boolean;
  tools: WriteToolChoice[];
}

/**
 * The choices under a ceiling, among the write tools on offer now. `writeAsked`
 * false (an app that asked only for mcp:read) offers Read-only alone. A key
 * limited to some write tools offers those for ticking, never Full.
 */
export function accessOffer(ceiling: Ceiling, offered: readonly WriteToolChoice[], writeAsked = true): AccessOffer {
  if (!writeAsked || ceiling?.level === "read") return { full: false, chosen: false, tools: [] };
  const limit = ceiling?.tools ?? null;
  const tools = limit === null ? [...offered] : offered.filter((tool) => limit.includes(tool.name));
  return { full: limit === null, chosen: tools.length > 0, tools };
}

/**
 * What the consent page starts with, so that Allow as served succeeds: Full
 * when it is offered; under a key limited to some write tools, those tools
 * ticked (no more than the key); else Read-only.
 */
export function consentDefault(offer: AccessOffer): { choice: AccessChoice; ticked: string[] } {
  if (offer.full) return { choice: "full", ticked: [] };
  if (offer.chosen) return { choice: "chosen", ticked: offer.tools.map((tool) => tool.name) };
  return { choice: "read", ticked: [] };
}

/** The write tools of one upstream (or Gatehouse's own), for a group of checkboxes with a tick-all. */
export interface ToolGroup {
  /** Posted as `tool_group` when its tick-all box is ticked (groupKeyOf). */
  key: string;
  label: string;
  tools: WriteToolChoice[];
}

/** Gatehouse's own tools' group key: parentheses never appear in an upstream's name. */
const builtinGroup = "(gatehouse)";

export function groupKeyOf(tool: WriteToolChoice): string {
  return tool.upstream ?? builtinGroup;
}

/** The tools on offer grouped by where they come from, in catalogue order. */
export function toolGroups(tools: readonly WriteToolChoice[]): ToolGroup[] {
  const groups = new Map<string, ToolGroup>();
  for (const tool of tools) {
    const key = groupKeyOf(tool);
    const group = groups.get(key) ?? { key, label: tool.upstream ?? "Gatehouse", tools: [] };
    group.tools.push(tool);
    groups.set(key, group);
  }
  return [...groups.values()];
}
