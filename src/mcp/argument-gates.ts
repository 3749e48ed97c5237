// Argument-level gates: a tool may be called only where some of its
// arguments have allowed values, e.g. github__create_issue only where `repo`
// matches `acme/*` (Evenhand's "per-deal gates": in a gateway the deal is an
// argument value). Pure: no I/O.
//
// What they cover, on purpose no more: string arguments at the top level of
// a call's `arguments` object, compared as sent (case-sensitive, never
// normalised) with globs in Bun.Glob's syntax, where `*` matches any run of
// characters except `/`, `**` any run including `/`, `?` one character,
// `[abc]` one of a set and `{a,b}` either; `\*` is a literal `*`. A value
// without glob characters matches only itself. A constrained argument that
// is missing, not a string, or nested deeper is refused, never guessed at.

/** tool -> argument -> allowed globs (any one matches). Several arguments of a tool must all match. */
export type ArgumentLimits = Record<string, Record<string, string[]>>;

/** One source of limits a call must satisfy: the key's or connection's own, or an admin [[policy]]. */
export interface LimitSource {
  kind: "credential" | "policy";
  limits: ArgumentLimits;
}

/** Why a call is refused: its argument, the globs it had to match, and whose limit it was. */
export interface ArgumentRefusal {
  argument: string;
  allowed: readonly string[];
  source: LimitSource["kind"];
}

const toolNamePattern = /^[A-Za-z0-9_.-]{1,128}$/;
const argumentPattern = /^[A-Za-z0-9_.$-]{1,128}$/;
const maxGlobLength = 200;
const globCharacters = /[*?[\]{}\\]/;

const compiled = new Map<string, Bun.Glob>();
function globOf(pattern: string): Bun.Glob {
  let glob = compiled.get(pattern);
  if (glob === undefined) {
    glob = new Bun.Glob(pattern);
    if (compiled.size < 10_000) compiled.set(pattern, glob);
  }
  return glob;
}

export function valueAllowed(value: string, allowed: readonly string[]): boolean {
  return allowed.some((pattern) => globOf(pattern).match(value));
}

/** The first limit a call breaks, checking the credential's own before the admin policy's; null when none. */
export function argumentRefusal(sources: readonly LimitSource[], tool: string, args: unknown): ArgumentRefusal | null {
  const given =
    typeof args === "object" && args !== null && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
  for (const source of sources) {
    const perArgument = source.limits[tool];
    if (perArgument === undefined) continue;
    for (const [argument, allowed] of Object.entries(perArgument)) {
      const value = Object.hasOwn(given, argument) ? given[argument] : undefined;
      if (typeof value !== "string" || !valueAllowed(value, allowed)) return { argument, allowed, source: source.kind };
    }
  }
  return null;
}

export type ParsedLimits = { ok: true; limits: ArgumentLimits } | { ok: false; error: string };

/** A problem with one glob, or null. */
export function globProblem(pattern: string): string | null {
  if (pattern.length === 0) return "is empty";
  if (pattern.length > maxGlobLength) return `is longer than ${maxGlobLength} characters`;
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return "holds a control character";
  return null;
}

/** Adds one `tool`/`argument`/`glob` to `limits`, once; a problem in words, or null. */
export function addLimit(limits: ArgumentLimits, tool: string, argument: string, pattern: string): string | null {
  if (!toolNamePattern.test(tool)) return `"${short(tool)}" is not a tool name`;
  if (!argumentPattern.test(argument))
    return `"${short(argument)}" is not an argument name (letters, digits, "_", "-", ".", "$")`;
  const problem = globProblem(pattern);
  if (problem) return `the pattern for ${argument} ${problem}`;
  const perArgument = (limits[tool] ??= {});
  const allowed = (perArgument[argument] ??= []);
  if (!allowed.includes(pattern)) allowed.push(pattern);
  return null;
}

/**
 * `tool:argument=glob` lines (the keys page's text box, `--allow`), blank
 * lines skipped. The first bad line is refused, never dropped: a key that
 * silently lacks a limit someone typed would allow more than they meant.
 */
export function parseLimitLines(lines: readonly string[]): ParsedLimits {
  const limits: ArgumentLimits = {};
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const colon = line.indexOf(":");
    const equals = line.indexOf("=", colon + 1);
    const where = lines.length > 1 ? `Line ${index + 1} ("${short(line)}")` : `"${short(line)}"`;
    if (colon <= 0 || equals <= colon + 1 || equals === line.length - 1) {
      return { ok: false, error: `${where} must be tool:argument=pattern, such as github__create_issue:repo=acme/*.` };
    }
    const problem = addLimit(
      limits,
      line.slice(0, colon).trim(),
      line.slice(colon + 1, equals).trim(),
      line.slice(equals + 1).trim(),
    );
    if (problem) return { ok: false, error: `${where}: ${problem}.` };
  }
  return { ok: true, limits };
}

/** Limits as `tool:argument=glob` lines, the form parseLimitLines reads. */
export function limitLines(limits: ArgumentLimits | null): string[] {
  if (limits === null) return [];
  return Object.entries(limits).flatMap(([tool, perArgument]) =>
    Object.entries(perArgument).flatMap(([argument, allowed]) =>
      allowed.map((pattern) => `${tool}:${argument}=${pattern}`),
    ),
  );
}

/** Limits as one item per tool and argument, for pages. */
export function limitItems(limits: ArgumentLimits | null): { tool: string; argument: string; allowed: string[] }[] {
  return Object.entries(limits ?? {}).flatMap(([tool, perArgument]) =>
    Object.entries(perArgument).map(([argument, allowed]) => ({ tool, argument, allowed })),
  );
}

/** Null for no limits, so a credential without any stores nothing. */
export function storedLimits(limits: ArgumentLimits): ArgumentLimits | null {
  return Object.keys(limits).length === 0 ? null : limits;
}

/** The tools named that are not among `callable` (null: every write tool, checked against `offered`). */
export function toolsOutside(
  limits: ArgumentLimits,
  callable: readonly string[] | null,
  offered: readonly string[],
): string[] {
  return Object.keys(limits).filter((tool) => !(callable ?? offered).includes(tool));
}

function isLiteral(pattern: string): boolean {
  return !globCharacters.test(pattern);
}

/**
 * Whether `child` allows no more than `parent` (a key made, or a connection
 * approved or edited, in a session opened with a key that has limits): every
 * limit of the parent on a tool the child may call is in the child too, and
 * each of the child's patterns for it is one of the parent's or a plain
 * value the parent's allow. Deciding whether one glob is inside another in
 * general is not attempted; such a child is refused.
 */
export function limitsWithin(
  child: ArgumentLimits | null,
  parent: ArgumentLimits | null,
  childTools: readonly string[] | null,
): boolean {
  if (parent === null) return true;
  for (const [tool, perArgument] of Object.entries(parent)) {
    if (childTools !== null && !childTools.includes(tool)) continue;
    for (const [argument, allowed] of Object.entries(perArgument)) {
      const own = child?.[tool]?.[argument];
      if (own === undefined) return false;
      if (!own.every((pattern) => allowed.includes(pattern) || (isLiteral(pattern) && valueAllowed(pattern, allowed))))
        return false;
    }
  }
  return true;
}

/**
 * The parent's limits the child does not restate, added to the child's own
 * (for tools the child may call), so a child made in a key session is never
 * wider than its key even when the person typed nothing. Restated ones are
 * checked by limitsWithin.
 */
export function inheritLimits(
  child: ArgumentLimits,
  parent: ArgumentLimits | null,
  childTools: readonly string[] | null,
): ArgumentLimits {
  const merged: ArgumentLimits = structuredClone(child);
  for (const [tool, perArgument] of Object.entries(parent ?? {})) {
    if (childTools !== null && !childTools.includes(tool)) continue;
    for (const [argument, allowed] of Object.entries(perArgument)) {
      const own = (merged[tool] ??= {});
      own[argument] ??= [...allowed];
    }
  }
  return merged;
}

/** A limit in words, for refusals and pages: `repo matching acme/* or acme-labs/*`. */
export function limitWords(argument: string, allowed: readonly string[]): string {
  return `${argument} matching ${allowed.join(" or ")}`;
}

function short(text: string): string {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
