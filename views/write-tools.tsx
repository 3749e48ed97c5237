// The write tools a person can grant, as checkboxes (consent page, API keys
// page), and a granted list as text (API keys page). The checkboxes show
// only while Full access is chosen: pure CSS (`:has(:checked)` in
// assets/style.css), no script; where `:has` is unsupported they simply stay
// visible, and the server ignores them for Read-only.

export interface WriteToolOption {
  name: string;
  title?: string;
  description: string;
}

const maxSummaryLength = 140;

/** A tool's title, or its description cut to one short line: upstream descriptions can run for paragraphs. */
function summaryOf(tool: WriteToolOption): string {
  const text = (tool.title ?? tool.description).replace(/\s+/g, " ").trim();
  return text.length > maxSummaryLength ? `${text.slice(0, maxSummaryLength - 1)}…` : text;
}

/** One checkbox per write tool, named `tool`, ticked when listed in `ticked`. */
export function WriteToolCheckboxes({ tools, ticked }: { tools: readonly WriteToolOption[]; ticked: readonly string[] }): string {
  return (
    <div class="tool-list">
      {tools.map((tool) => (
        <label class="choice">
          <input type="checkbox" name="tool" value={tool.name} checked={ticked.includes(tool.name)} />
          <span>
            <code safe>{tool.name}</code> <span class="muted" safe>{summaryOf(tool)}</span>
          </span>
        </label>
      ))}
    </div>
  ) as string;
}

/** A key's or connection's write tools for a table cell: None, All, or the names. */
export function GrantedTools({ access, tools }: { access: "read" | "full"; tools: readonly string[] | null }): string {
  if (access !== "full") return (<span class="muted">None</span>) as string;
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
