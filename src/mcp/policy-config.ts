import { readFileSync } from "node:fs";
import { fieldLine, syntaxErrorLine } from "../gateway/config-lines.ts";
import { addLimit, globProblem, valueAllowed, type ArgumentLimits, type LimitSource } from "./argument-gates.ts";
import type { UserKind } from "../accounts/users-store.ts";

// Admin policy: [[policy]] tables in the TOML file GATEHOUSE_CONFIG names
// (beside [[upstream]] and [[identity_provider]]). Each allows one tool only
// where one argument matches one of its globs, for everyone or for the
// people and groups it names, on top of whatever limits a key or connection
// has (both must allow: argument-gates.ts). Validated once at start; every
// error names the file, the line and the field.

/** The groups of people Gatehouse knows: it has no others (no directory groups). */
export const policyGroups = ["admins", "members", "services"] as const;
export type PolicyGroup = (typeof policyGroups)[number];

export interface PolicyRule {
  tool: string;
  argument: string;
  allow: string[];
  /** Lowercased email globs (`alice@example.com`, `*@contractors.example.com`); with groups empty too: everyone. */
  people: string[];
  groups: PolicyGroup[];
}

/** Who a rule may name: a person's email, whether they are an admin, or a service account. */
export interface PolicySubject {
  email: string;
  isAdmin: boolean;
  kind: UserKind;
}

/** A bad [[policy]] table; the message is one line: `file:line: field: problem`. */
export class PolicyConfigError extends Error {}

const keys = new Set(["tool", "argument", "allow", "people", "groups"]);

type Table = Record<string, unknown>;
type Fail = (field: string, problem: string) => never;
const isTable = (value: unknown): value is Table =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export function loadPolicies(file: string): PolicyRule[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new PolicyConfigError(`${file}: cannot read the config file: ${(error as Error).message}`);
  }
  return parsePolicies(file, text);
}

/** The [[policy]] tables of the file; other tables are left to their own parsers. */
export function parsePolicies(file: string, text: string): PolicyRule[] {
  let doc: Table;
  try {
    doc = Bun.TOML.parse(text) as Table;
  } catch (error) {
    const reason = (error as Error).message.replace(/^TOML Parse error: /, "");
    throw new PolicyConfigError(`${file}:${syntaxErrorLine(text)}: TOML syntax error: ${reason}`);
  }
  const fail = (index: number | null, field: string, problem: string): never => {
    const line = fieldLine(text, "policy", index, field);
    throw new PolicyConfigError(`${file}:${line}: ${index === null ? field : `policy[${index}].${field}`}: ${problem}`);
  };
  const tables = doc.policy ?? [];
  if (!Array.isArray(tables) || !tables.every(isTable)) fail(null, "policy", "must be written as [[policy]] tables");
  return (tables as Table[]).map((table, index) => parseRule(table, (field, problem) => fail(index, field, problem)));
}

function parseRule(table: Table, fail: Fail): PolicyRule {
  for (const key of Object.keys(table))
    if (!keys.has(key)) fail(key, `unknown field; expected one of ${[...keys].join(", ")}`);
  const tool = requiredString(table, "tool", fail, 'the tool as /mcp lists it, such as "github__create_issue"');
  const argument = requiredString(table, "argument", fail, 'a top-level string argument of the tool, such as "repo"');
  const allow = stringList(table, "allow", fail);
  if (allow.length === 0)
    fail("allow", 'is required: one or more patterns the argument must match, such as ["acme/*"]');
  // addLimit checks the names and each pattern the way the keys page and --allow do.
  const limits: ArgumentLimits = {};
  for (const pattern of allow) {
    const problem = addLimit(limits, tool, argument, pattern);
    if (problem)
      fail(problem.includes("tool name") ? "tool" : problem.includes("argument name") ? "argument" : "allow", problem);
  }
  const people = stringList(table, "people", fail).map((p) => p.trim().toLowerCase());
  for (const person of people) {
    const problem = globProblem(person);
    if (problem || !person.includes("@"))
      fail("people", `"${person}" ${problem ?? 'is not an email or an email pattern such as "*@example.com"'}`);
  }
  const groups = stringList(table, "groups", fail);
  for (const group of groups) {
    if (!(policyGroups as readonly string[]).includes(group))
      fail("groups", `"${group}" is not a group; Gatehouse knows ${policyGroups.map((g) => `"${g}"`).join(", ")}`);
  }
  return { tool, argument, allow: [...new Set(allow)], people, groups: groups as PolicyGroup[] };
}

/** Whether a rule names this person (a rule naming nobody names everyone). */
export function ruleApplies(rule: PolicyRule, subject: PolicySubject): boolean {
  if (rule.people.length === 0 && rule.groups.length === 0) return true;
  const email = subject.email.toLowerCase();
  if (valueAllowed(email, rule.people)) return true;
  const group: PolicyGroup = subject.kind === "service" ? "services" : subject.isAdmin ? "admins" : "members";
  return rule.groups.includes(group);
}

/**
 * The policy's limits on this person, one source per rule: two rules on the
 * same tool and argument must both allow the value, so they are not merged.
 */
export function policySourcesFor(rules: readonly PolicyRule[], subject: PolicySubject): LimitSource[] {
  return rules
    .filter((rule) => ruleApplies(rule, subject))
    .map((rule) => ({ kind: "policy", limits: { [rule.tool]: { [rule.argument]: rule.allow } } }));
}

function requiredString(table: Table, key: string, fail: Fail, hint: string): string {
  const value = table[key];
  if (value !== undefined && typeof value !== "string") fail(key, `must be a string, got ${JSON.stringify(value)}`);
  if (value === undefined || (value as string).trim() === "") fail(key, `is required: ${hint}`);
  return (value as string).trim();
}

function stringList(table: Table, key: string, fail: Fail): string[] {
  const value = table[key] ?? [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
    fail(key, 'must be a list of strings, such as ["acme/*"]');
  return value as string[];
}
