// Line numbers for errors in the TOML config file ([[upstream]] and
// [[identity_provider]] tables). Bun's TOML parser reports no position, so the
// line is found in the text: for a syntax error by parsing ever shorter
// prefixes, for a field by finding its key.

const tableHeader = /^\s*\[/;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** 1-based line of a TOML syntax error: the line after the longest prefix that still parses. */
export function syntaxErrorLine(text: string): number {
  const lines = text.split("\n");
  for (let n = lines.length - 1; n >= 0; n--) {
    try {
      Bun.TOML.parse(lines.slice(0, n).join("\n"));
      return n + 1;
    } catch {
      // A shorter prefix, then.
    }
  }
  return 1;
}

function keyPattern(key: string): RegExp {
  const escaped = escapeRegExp(key);
  return new RegExp(`^\\s*(${escaped}|"${escaped}"|'${escaped}')\\s*=`);
}

/** The line range [from, to) of the index-th [[table]] array entry, including its sub-tables. */
function tableSection(lines: string[], table: string, index: number): { from: number; to: number } | null {
  const header = new RegExp(`^\\s*\\[\\[\\s*${escapeRegExp(table)}\\s*\\]\\]\\s*(#.*)?$`);
  const subTable = new RegExp(`^\\s*\\[\\s*${escapeRegExp(table)}\\.`);
  let seen = -1;
  for (let i = 0; i < lines.length; i++) {
    if (!header.test(lines[i]!)) continue;
    if (++seen !== index) continue;
    let to = i + 1;
    while (
      to < lines.length &&
      !header.test(lines[to]!) &&
      !(tableHeader.test(lines[to]!) && !subTable.test(lines[to]!))
    )
      to++;
    return { from: i, to };
  }
  return null;
}

/**
 * 1-based line of `key` in the index-th [[table]] entry (or at top level
 * when index is null); the entry's header line when the key is absent.
 */
export function fieldLine(text: string, table: string, index: number | null, key: string): number {
  const lines = text.split("\n");
  const pattern = keyPattern(key);
  if (index === null) {
    for (let i = 0; i < lines.length && !tableHeader.test(lines[i]!); i++) if (pattern.test(lines[i]!)) return i + 1;
    return 1;
  }
  const section = tableSection(lines, table, index);
  if (!section) return 1;
  for (let i = section.from + 1; i < section.to; i++) if (pattern.test(lines[i]!)) return i + 1;
  // A key written inside an inline table (headers = { Authorization = "…" }).
  const inline = new RegExp(`[{,]\\s*("?)${escapeRegExp(key)}\\1\\s*=`);
  for (let i = section.from + 1; i < section.to; i++) if (inline.test(lines[i]!)) return i + 1;
  return section.from + 1;
}
