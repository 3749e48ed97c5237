import { InvalidScope } from "./errors.ts";

/** What each scope allows, in the words the consent page uses. */
export const scopeDescriptions = {
  "mcp:read": "List and call read-only tools",
  "mcp:write": "Call tools that change things",
} as const;

export type Scope = keyof typeof scopeDescriptions;
export const supportedScopes = Object.keys(scopeDescriptions) as Scope[];
/** An empty or missing scope gets these (ChatGPT sends an empty scope). */
export const defaultScopes: Scope[] = ["mcp:read", "mcp:write"];

/** Parses a requested scope string; unknown scopes are `invalid_scope`. */
export function parseScope(value: string | undefined): Scope[] {
  const words = (value ?? "").split(" ").filter(Boolean);
  if (words.length === 0) return [...defaultScopes];
  const unknown = words.filter((w) => !(w in scopeDescriptions));
  if (unknown.length) throw new InvalidScope(`Unknown scope: ${unknown.join(" ")}. Supported: ${supportedScopes.join(" ")}.`);
  return supportedScopes.filter((s) => words.includes(s));
}

export function formatScope(scopes: readonly string[]): string {
  return supportedScopes.filter((s) => scopes.includes(s)).join(" ");
}

/** mcp:write implies mcp:read: a Full grant is both. */
export function normalizeScopes(scopes: readonly Scope[]): Scope[] {
  return scopes.includes("mcp:write") ? ["mcp:read", "mcp:write"] : ["mcp:read"];
}
