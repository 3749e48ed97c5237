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

/** Under Full access (new keys, service accounts): every write tool (also ones added later), or only the ticked ones. */
export function WriteToolsChoice({ id, tools, form }: { id: string; tools: readonly WriteToolOption[]; form?: { writeTools: string; tools: string[] } }): string {
  const chosen = form?.writeTools === "chosen";
  return (
    <fieldset class="write-tools" id={id}>
      <legend>Write tools (Full access)</legend>
      <label class="choice">
        <input type="radio" name="write_tools" value="all" checked={!chosen} /> Every write tool, also ones added later
      </label>
      <label class="choice">
        <input type="radio" name="write_tools" value="chosen" checked={chosen} /> Only the tools ticked below
      </label>
      <WriteToolCheckboxes tools={tools} ticked={chosen ? (form?.tools ?? []) : []} />
    </fieldset>
  ) as string;
}

/** Read-only or Full, for a new key or service account (Read-only unless Full was chosen). */
export function AccessChoice({ access }: { access?: string }): string {
  return (
    <fieldset>
      <legend>Access</legend>
      <label class="choice">
        <input type="radio" name="access" value="read" checked={access !== "full"} /> Read-only{" "}
        <span class="muted">(mcp:read: list and call read tools)</span>
      </label>
      <label class="choice">
        <input type="radio" name="access" value="full" checked={access === "full"} /> Full{" "}
        <span class="muted">(mcp:read mcp:write: also call write tools)</span>
      </label>
    </fieldset>
  ) as string;
}
