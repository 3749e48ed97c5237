import type { AccessLevel } from "../keys/api-keys.ts";
import { isWriteTool, type GatedTool } from "./gating.ts";

// Tool permissions: the write tools an API key or a connection may call, as
// people choose and read them: the consent page, the API keys page,
// `gatehouse key create --tools`, whoami and list_connections. Pure: the
// catalogue is passed in. A permission names tools by the name /mcp lists
// them under (upstream prefix included).

/** A write tool as a choice list shows it. */
export interface WriteToolChoice {
  name: string;
  title?: string;
  description: string;
  /** The upstream it comes from; absent for Gatehouse's own. */
  upstream?: string;
}

/** The write tools on offer, in catalogue order (access.ts narrows them to what a session may grant). */
export function writeToolChoices(
  tools: readonly (GatedTool & { title?: string; description: string; upstream?: string })[],
): WriteToolChoice[] {
  return tools
    .filter((tool) => isWriteTool(tool))
    .map(({ name, title, description, upstream }) => ({
      name,
      ...(title !== undefined && { title }),
      description,
      ...(upstream !== undefined && { upstream }),
    }));
}

export type ToolChoiceCheck = { ok: true; tools: string[] } | { ok: false; unknown: string[] };

/**
 * The chosen tools, once each, in the order offered; or every chosen name
 * that is not on offer. Unknown names are refused, never dropped: a permission
 * that silently lacks a tool the person ticked would surprise them later.
 */
export function checkToolChoice(chosen: readonly string[], offered: readonly string[]): ToolChoiceCheck {
  const unknown = [...new Set(chosen.filter((name) => !offered.includes(name)))];
  if (unknown.length > 0) return { ok: false, unknown };
  return { ok: true, tools: offered.filter((name) => chosen.includes(name)) };
}

/** What a key or connection may call among the write tools: "all", the names, or none with Read-only access. */
export function permittedWriteTools(access: AccessLevel, tools: readonly string[] | null): "all" | string[] {
  if (access !== "full") return [];
  return tools === null ? "all" : [...tools];
}

/** One line naming what was asked for and does not exist (at most a few names, each cut short: they are user input). */
export function unknownToolsMessage(unknown: readonly string[]): string {
  const shown = unknown.slice(0, 5).map((name) => (name.length > 80 ? `${name.slice(0, 79)}…` : name));
  const more = unknown.length > shown.length ? ` and ${unknown.length - shown.length} more` : "";
  return `Gatehouse has no write tool named ${shown.join(", ")}${more}.`;
}
