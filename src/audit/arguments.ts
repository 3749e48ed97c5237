import type { AuditArgumentsMode } from "../config.ts";

// What the audit log keeps of a tool call's arguments (GATEHOUSE_AUDIT_ARGUMENTS).
// Pure: no I/O.
//
// none:     nothing.
// full:     the arguments as sent, unless their JSON is over `fullMaxChars`;
//           then the first `fullMaxChars` characters of that JSON, as a string.
// redacted: the same names and shape, with
//   - every value under a secret-looking name replaced by "[redacted]": a name
//     with a word (split at _ - . space and camelCase) that is one of
//     `secretWords` (password, token, secret, key, authorization, cookie, …);
//   - every string that looks like a credential replaced by "[redacted]":
//     Gatehouse's own (gate_key_…, gate_at_…), "Bearer …"/"Basic …", JWTs,
//     PEM private keys, and common provider keys (sk-…, ghp_…, AKIA…, xox…-);
//   - strings cut to `maxStringChars` characters, plus "…[+N chars]";
//   - arrays cut to `maxArrayItems` items, plus "…[+N items]";
//   - nesting cut below `maxDepth` levels ("[nested]");
//   - the whole cut at about `maxTotalChars` characters of JSON: later
//     members are dropped and a "…" member (or item) says "[truncated]".

export const redactionLimits = {
  maxStringChars: 200,
  maxArrayItems: 20,
  maxDepth: 6,
  maxTotalChars: 4096,
  fullMaxChars: 65536,
} as const;

export const redacted = "[redacted]";

const secretWords = new Set([
  "password",
  "passwd",
  "pass",
  "passphrase",
  "pwd",
  "secret",
  "secrets",
  "token",
  "key",
  "keys",
  "apikey",
  "authorization",
  "auth",
  "credential",
  "credentials",
  "cookie",
  "cookies",
  "session",
  "signature",
  "private",
  "privatekey",
  "otp",
  "pin",
  "cvv",
  "ssn",
  "bearer",
  "jwt",
]);

const secretValue = [
  /\bgate_(key|at|rt|cs|code)_[a-z2-7]{8,}/,
  /^\s*(bearer|basic)\s+\S{8,}/i,
  /\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\./,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\b(sk|pk|rk)-[\w-]{16,}/,
  /\b(ghp|gho|ghu|ghs|ghr|github_pat)_\w{20,}/,
  /\bAKIA[0-9A-Z]{16}\b/,
  /\bxox[abprs]-[\w-]{10,}/,
];

/** The words of a name: `apiKey`, `api_key`, `API-Key` all give api, key. */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

export function isSecretName(name: string): boolean {
  const words = wordsOf(name);
  return words.some((w) => secretWords.has(w)) || secretWords.has(words.join(""));
}

export function looksLikeSecret(value: string): boolean {
  return secretValue.some((pattern) => pattern.test(value));
}

/** The arguments as the audit log keeps them in this mode; undefined when it keeps none. */
export function auditArguments(mode: AuditArgumentsMode, args: unknown): unknown {
  if (mode === "none") return undefined;
  if (mode === "full") {
    const json = JSON.stringify(args ?? null);
    return json.length > redactionLimits.fullMaxChars ? json.slice(0, redactionLimits.fullMaxChars) : (args ?? null);
  }
  return redactArguments(args);
}

export function redactArguments(args: unknown): unknown {
  const budget = { left: redactionLimits.maxTotalChars };
  return redactValue(args ?? null, 0, budget);
}

function cutString(value: string): string {
  const { maxStringChars } = redactionLimits;
  return value.length > maxStringChars
    ? `${value.slice(0, maxStringChars)}…[+${value.length - maxStringChars} chars]`
    : value;
}

function redactValue(value: unknown, depth: number, budget: { left: number }): unknown {
  if (typeof value === "string") {
    const kept = looksLikeSecret(value) ? redacted : cutString(value);
    budget.left -= kept.length + 2;
    return kept;
  }
  if (value === null || typeof value === "number" || typeof value === "boolean") {
    budget.left -= String(value).length;
    return value;
  }
  if (typeof value !== "object") return null;
  if (depth >= redactionLimits.maxDepth) {
    budget.left -= 10;
    return "[nested]";
  }
  if (Array.isArray(value)) return redactArray(value, depth, budget);
  const out: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(value)) {
    if (budget.left <= 0) {
      out["…"] = "[truncated]";
      break;
    }
    const key = cutString(name);
    budget.left -= key.length + 4;
    if (isSecretName(name)) {
      out[key] = redacted;
      budget.left -= redacted.length + 2;
    } else {
      out[key] = redactValue(member, depth + 1, budget);
    }
  }
  return out;
}

function redactArray(items: unknown[], depth: number, budget: { left: number }): unknown[] {
  const out: unknown[] = [];
  for (const item of items.slice(0, redactionLimits.maxArrayItems)) {
    if (budget.left <= 0) {
      out.push("…[truncated]");
      return out;
    }
    budget.left -= 1;
    out.push(redactValue(item, depth + 1, budget));
  }
  if (items.length > redactionLimits.maxArrayItems)
    out.push(`…[+${items.length - redactionLimits.maxArrayItems} items]`);
  return out;
}
