import type { ToolAnnotations } from "@modelcontextprotocol/client";

// Whether an upstream tool reads or writes: pure, no I/O. A tool reads when
// the config's `read` globs say so or its annotations say readOnlyHint: true;
// every other tool writes (clients such as ChatGPT treat a missing hint as a
// write too). `hide` removes a tool; `write` beats `read` when both match.

export type ToolClass = "read" | "write" | "hidden";

export interface ClassRules {
  read: readonly string[];
  write: readonly string[];
  hide: readonly string[];
}

/** Whether any of the config's globs matches a tool's (or an operation's) own name. */
export const matches = (globs: readonly string[], name: string) => globs.some((glob) => new Bun.Glob(glob).match(name));

export function classifyTool(name: string, annotations: ToolAnnotations | undefined, rules: ClassRules): ToolClass {
  if (matches(rules.hide, name)) return "hidden";
  if (matches(rules.write, name)) return "write";
  if (matches(rules.read, name)) return "read";
  return annotations?.readOnlyHint === true ? "read" : "write";
}

/** The annotations clients get: the upstream's own, with readOnlyHint corrected when it disagrees with the class. */
export function annotationsFor(annotations: ToolAnnotations | undefined, toolClass: "read" | "write"): ToolAnnotations {
  const readOnly = annotations?.readOnlyHint === true;
  if (readOnly === (toolClass === "read")) return annotations ?? {};
  return { ...annotations, readOnlyHint: toolClass === "read" };
}

export const scopesFor = { read: ["mcp:read"], write: ["mcp:read", "mcp:write"] } as const;
