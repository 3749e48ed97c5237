// Line numbers for errors in the gateway's TOML file. Bun's TOML parser
// reports no position, so the line is found in the text: for a syntax error
// by parsing ever shorter prefixes, for a field by finding its key.

const tableHeader = /^\s*\[/;
const upstreamHeader = /^\s*\[\[\s*upstream\s*\]\]\s*(#.*)?$/;

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
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^\\s*(${escaped}|"${escaped}"|'${escaped}')\\s*=`);
}

/** The line range [from, to) of the index-th [[upstream]] table, including its sub-tables. */
function upstreamSection(lines: string[], index: number): { from: number; to: number } | null {
  let seen = -1;
  for (let i = 0; i < lines.length; i++) {
    if (!upstreamHeader.test(lines[i]!)) continue;
    if (++seen !== index) continue;
    let to = i + 1;
    while (to < lines.length && !upstreamHeader.test(lines[to]!) && !(tableHeader.test(lines[to]!) && !/^\s*\[\s*upstream\./.test(lines[to]!))) to++;
    return { from: i, to };
  }
  return null;
}

/**
 * 1-based line of `key` in the index-th [[upstream]] table (or at top level
 * when index is null); the table's header line when the key is absent.
 */
export function fieldLine(text: string, index: number | null, key: string): number {
  const lines = text.split("\n");
  const pattern = keyPattern(key);
  if (index === null) {
    for (let i = 0; i < lines.length && !tableHeader.test(lines[i]!); i++) if (pattern.test(lines[i]!)) return i + 1;
    return 1;
  }
  const section = upstreamSection(lines, index);
  if (!section) return 1;
  for (let i = section.from + 1; i < section.to; i++) if (pattern.test(lines[i]!)) return i + 1;
  // A key written inside an inline table (headers = { Authorization = "…" }).
  const inline = new RegExp(`[{,]\\s*("?)${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\1\\s*=`);
  for (let i = section.from + 1; i < section.to; i++) if (inline.test(lines[i]!)) return i + 1;
  return section.from + 1;
}
