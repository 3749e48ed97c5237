// An entry's detail JSON for people: one short line to scan a table by, and
// the whole of it indented, to open beneath. Pure: no I/O.

const summaryLength = 80;

function shortValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.length} item${value.length === 1 ? "" : "s"}]`;
  if (value !== null && typeof value === "object") return "{…}";
  return typeof value === "string" ? value : String(value);
}

/** `key: value` for each field, an object's own fields one level down as `key.field: value`. */
function fields(object: object, prefix = ""): string[] {
  return Object.entries(object).flatMap(([key, value]) =>
    prefix === "" && value !== null && typeof value === "object" && !Array.isArray(value)
      ? fields(value, `${key}.`)
      : [`${prefix}${key}: ${shortValue(value)}`],
  );
}

/** "error: disk full, arguments.path: /srv/a.csv" (cut at 80 characters), and the JSON pretty-printed. */
export function auditDetailText(detail: string): { summary: string; pretty: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(detail);
  } catch {
    return { summary: cut(detail), pretty: detail };
  }
  const summary =
    parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
      ? fields(parsed).join(", ")
      : shortValue(parsed);
  // An empty object or string still needs a summary to open by: the JSON itself.
  return { summary: cut(summary || detail), pretty: JSON.stringify(parsed, null, 2) };
}

function cut(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > summaryLength ? `${line.slice(0, summaryLength - 1)}…` : line;
}
