// The one access form part (consent page, API keys page, service accounts
// page) and the granted access as table cells. Three choices in the same
// words everywhere (src/mcp/access.ts); the write tools to tick show, grouped
// by upstream with a tick-all each, only while the third is chosen: pure CSS
// (`:has(:checked)` in assets/style.css); where `:has` is unsupported they
// stay visible, and the server ignores them for the other two choices. The
// tick-alls work without script (the server adds the group's tools);
// assets/app.js only keeps the boxes in step as you click.

import type { AccessLevel } from "../src/keys/api-keys.ts";
import type { AccessChoice } from "../src/mcp/access.ts";

export interface WriteToolOption {
  name: string;
  title?: string;
  description: string;
}

export interface ToolGroupOption {
  key: string;
  label: string;
  tools: WriteToolOption[];
}

export interface AccessFieldsProps {
  /** Which choices besides Read-only are offered. */
  offer: { full: boolean; chosen: boolean };
  /** The write tools that can be ticked, by upstream. */
  groups: ToolGroupOption[];
  choice: AccessChoice;
  ticked: readonly string[];
  /** Why less is offered than usual (a session opened with an API key). */
  note?: string;
}

const accessWords = {
  read: { label: "Read-only", detail: "only tools that change nothing" },
  full: { label: "Full", detail: "every tool, also write tools added later" },
  chosen: {
    label: "Full, only the write tools I tick",
    detail: "tools that change nothing, and the ones ticked below",
  },
} as const;

/** A posted choice as the form shows it again: an offered one, else Read-only. */
export function shownChoice(
  posted: string | undefined,
  offer: AccessFieldsProps["offer"],
): AccessFieldsProps["choice"] {
  return (posted === "full" && offer.full) || (posted === "chosen" && offer.chosen) ? posted : "read";
}

const maxSummaryLength = 140;

/** A tool's title, or its description cut to one short line: upstream descriptions can run for paragraphs. */
function summaryOf(tool: WriteToolOption): string {
  const text = (tool.title ?? tool.description).replace(/\s+/g, " ").trim();
  return text.length > maxSummaryLength ? `${text.slice(0, maxSummaryLength - 1)}…` : text;
}

function Choice({ value, checked }: { value: keyof typeof accessWords; checked: boolean }): string {
  const words = accessWords[value];
  return (
    <label class="choice">
      <input type="radio" name="access" value={value} checked={checked} />
      <span>
        <strong>{words.label}:</strong> <span class="muted">{words.detail}</span>
      </span>
    </label>
  ) as string;
}

function ToolGroup({ group, ticked }: { group: ToolGroupOption; ticked: readonly string[] }): string {
  const all = group.tools.every((tool) => ticked.includes(tool.name));
  return (
    <fieldset class="tool-group">
      <legend safe>{group.label}</legend>
      {group.tools.length > 1 ? (
        <label class="choice tick-all">
          <input type="checkbox" name="tool_group" value={group.key} checked={all} />
          <span safe>{`All ${group.tools.length} write tools of ${group.label}`}</span>
        </label>
      ) : (
        ""
      )}
      {group.tools.map((tool) => (
        <label class="choice">
          <input type="checkbox" name="tool" value={tool.name} checked={ticked.includes(tool.name)} />
          <span>
            <code safe>{tool.name}</code>{" "}
            <span class="muted" safe>
              {summaryOf(tool)}
            </span>
          </span>
        </label>
      ))}
    </fieldset>
  ) as string;
}

/** Read-only; Full; Full with only the ticked write tools (grouped by upstream). */
export function AccessFields({ offer, groups, choice, ticked, note }: AccessFieldsProps): string {
  return (
    <fieldset class="access" id="access">
      <legend>Access</legend>
      <Choice value="read" checked={choice === "read"} />
      {offer.full ? <Choice value="full" checked={choice === "full"} /> : ""}
      {offer.chosen ? <Choice value="chosen" checked={choice === "chosen"} /> : ""}
      {offer.chosen ? (
        <div class="tool-groups" id="write-tools">
          {groups.map((group) => (
            <ToolGroup group={group} ticked={ticked} />
          ))}
        </div>
      ) : (
        ""
      )}
      {note ? (
        <p class="muted" id="access-note" safe>
          {note}
        </p>
      ) : (
        ""
      )}
    </fieldset>
  ) as string;
}

/** A key's or connection's write tools for a table cell: None, All, or the names. */
export function PermittedTools({ access, tools }: { access: AccessLevel; tools: readonly string[] | null }): string {
  // Read-only, or Full with none of the write tools ticked: only tools that change nothing.
  if (access !== "full" || tools?.length === 0) return (<span class="muted">None</span>) as string;
  if (tools === null) return "All";
  return (
    <ul class="granted-tools">
      {tools.map((name) => (
        <li>
          <code safe>{name}</code>
        </li>
      ))}
    </ul>
  ) as string;
}

/** One argument limit as a page shows it: the tool runs only where the argument matches one of the patterns. */
export interface LimitItem {
  tool: string;
  argument: string;
  allowed: readonly string[];
}

/** Argument limits as a list: `tool` only where `argument` matches `pattern` or `pattern`. */
export function LimitList({ items, id }: { items: readonly LimitItem[]; id?: string }): string {
  return (
    <ul class="argument-limits" id={id}>
      {items.map((item) => (
        <li>
          <code safe>{item.tool}</code> only where <code safe>{item.argument}</code> matches{" "}
          {item.allowed.map((pattern, i) => (
            <>
              {i === 0 ? "" : " or "}
              <code safe>{pattern}</code>
            </>
          ))}
        </li>
      ))}
    </ul>
  ) as string;
}
