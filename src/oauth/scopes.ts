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

/**
 * Parses a requested scope string; unknown scopes are `invalid_scope`, or
 * with `ignoreUnknown` are dropped (RFC 6749 §3.3 lets the server ignore
 * what it does not support: clients add `offline_access` or `openid`).
 * Nothing known left means the default scopes.
 */
export function parseScope(value: string | undefined, opts: { ignoreUnknown?: boolean } = {}): Scope[] {
  const words = (value ?? "").split(" ").filter(Boolean);
  const unknown = words.filter((w) => !(w in scopeDescriptions));
  if (unknown.length && !opts.ignoreUnknown) {
    throw new InvalidScope(`Unknown scope: ${unknown.join(" ")}. Supported: ${supportedScopes.join(" ")}.`);
  }
  const known = supportedScopes.filter((s) => words.includes(s));
  return known.length === 0 ? [...defaultScopes] : known;
}

export function formatScope(scopes: readonly string[]): string {
  return supportedScopes.filter((s) => scopes.includes(s)).join(" ");
}

/** mcp:write implies mcp:read: a Full authorization is both. */
export function normalizeScopes(scopes: readonly Scope[]): Scope[] {
  return scopes.includes("mcp:write") ? ["mcp:read", "mcp:write"] : ["mcp:read"];
}

/** A requested scope within a granted one (RFC 6749 §6, §4.4.2): `invalid_scope` for anything beyond it. */
export function narrowedScope(requested: string, granted: string): string {
  const scopes = normalizeScopes(parseScope(requested));
  const allowed = granted.split(" ");
  const beyond = scopes.filter((s) => !allowed.includes(s));
  if (beyond.length)
    throw new InvalidScope(`The scope ${beyond.join(" ")} was not granted; ask for ${granted} or less.`);
  return formatScope(scopes);
}
