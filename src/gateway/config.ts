import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { builtinPrefix } from "../mcp/tools/builtin.ts";
import { fieldLine, syntaxErrorLine } from "./config-lines.ts";

// The upstreams, declared as [[upstream]] tables in the TOML file
// GATEHOUSE_CONFIG names: MCP servers (command or url) and REST APIs
// described by an OpenAPI document (openapi). Validated once at start; every
// error names the file, the line and the field, and stops the start.

interface UpstreamCommon {
  name: string;
  /** Put before each of its tool and prompt names; `<name>__` unless set. */
  prefix: string;
  /** Globs over the upstream's own tool names (an OpenAPI operation's: its operationId) that override how its tools are classified. */
  read: string[];
  write: string[];
  hide: string[];
}

export interface StdioUpstreamConfig extends UpstreamCommon {
  kind: "stdio";
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string | null;
  /** How many processes of the command run, calls spread over them: for a stateless server; 1 unless set. */
  instances: number;
}

export interface HttpUpstreamConfig extends UpstreamCommon {
  kind: "http";
  url: string;
  headers: Record<string, string>;
}

export interface OpenApiUpstreamConfig extends UpstreamCommon {
  kind: "openapi";
  /** The OpenAPI document: an http(s) URL, or an absolute file path (a relative one is resolved against the config file's directory). */
  openapi: string;
  /** Where the API's requests go; null: the document's first server, resolved against the document's URL. */
  baseUrl: string | null;
  /** Sent with every request to the API, never to the document's URL, never shown to MCP clients. */
  headers: Record<string, string>;
  /** Globs over operationIds: only matching operations become tools (all when empty), minus those matching `exclude`. */
  include: string[];
  exclude: string[];
}

/** The upstreams that are MCP servers. */
export type McpUpstreamConfig = StdioUpstreamConfig | HttpUpstreamConfig;
export type UpstreamConfig = McpUpstreamConfig | OpenApiUpstreamConfig;

export interface GatewayConfig {
  upstreams: UpstreamConfig[];
}

/** A bad config file; the message is one line: `file:line: field: problem`. */
export class GatewayConfigError extends Error {}

const upstreamKeys = new Set([
  "name",
  "command",
  "args",
  "env",
  "cwd",
  "instances",
  "url",
  "headers",
  "openapi",
  "base_url",
  "include",
  "exclude",
  "prefix",
  "read",
  "write",
  "hide",
]);
/** The fields that belong to one kind of upstream only, by the field that sets the kind. */
const kindKeys = {
  command: ["args", "env", "cwd", "instances"],
  url: [],
  openapi: ["base_url", "include", "exclude"],
} as const;
const namePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
// MCP tool names: letters, digits, underscore, hyphen and dot.
const prefixPattern = /^[A-Za-z0-9_.-]{0,64}$/;

type Table = Record<string, unknown>;
const isTable = (value: unknown): value is Table =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export function loadGatewayConfig(file: string, env: Record<string, string | undefined>): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new GatewayConfigError(`${file}: cannot read the config file: ${(error as Error).message}`);
  }
  return parseGatewayConfig(file, text, env);
}

export function parseGatewayConfig(file: string, text: string, env: Record<string, string | undefined>): GatewayConfig {
  let doc: Table;
  try {
    doc = Bun.TOML.parse(text) as Table;
  } catch (error) {
    const reason = (error as Error).message.replace(/^TOML Parse error: /, "");
    throw new GatewayConfigError(`${file}:${syntaxErrorLine(text)}: TOML syntax error: ${reason}`);
  }
  const fail = (index: number | null, field: string, problem: string): never => {
    const line = fieldLine(text, "upstream", index, field.split(".").at(-1)!);
    const where = index === null ? field : `upstream[${index}].${field}`;
    throw new GatewayConfigError(`${file}:${line}: ${where}: ${problem}`);
  };
  // [[identity_provider]] tables are read by src/identity/config.ts, [[policy]] tables by src/mcp/policy-config.ts.
  for (const key of Object.keys(doc)) {
    if (key !== "upstream" && key !== "identity_provider" && key !== "policy") {
      fail(null, key, `unknown setting; the file holds [[upstream]], [[identity_provider]] and [[policy]] tables only`);
    }
  }
  const tables = doc.upstream ?? [];
  if (!Array.isArray(tables) || !tables.every(isTable))
    fail(null, "upstream", "must be written as [[upstream]] tables");
  const directory = dirname(resolve(file));
  const upstreams = (tables as Table[]).map((table, index) =>
    parseUpstream(table, (field, problem) => fail(index, field, problem), env, directory),
  );
  const seen = new Map<string, number>();
  upstreams.forEach((u, index) => {
    if (seen.has(u.name)) fail(index, "name", `"${u.name}" is already the name of upstream[${seen.get(u.name)}]`);
    seen.set(u.name, index);
    const clash = upstreams.findIndex((other, j) => j < index && other.prefix === u.prefix);
    if (clash >= 0)
      fail(
        index,
        "prefix",
        `"${u.prefix}" is already the prefix of upstream[${clash}]; give one of them another prefix`,
      );
  });
  return { upstreams };
}

type Fail = (field: string, problem: string) => never;

function parseUpstream(
  table: Table,
  fail: Fail,
  env: Record<string, string | undefined>,
  directory: string,
): UpstreamConfig {
  for (const key of Object.keys(table))
    if (!upstreamKeys.has(key)) fail(key, `unknown field; expected one of ${[...upstreamKeys].join(", ")}`);
  const name = table.name;
  if (typeof name !== "string") fail("name", 'is required: a short name such as "github"');
  if (!namePattern.test(name)) fail("name", `must be letters, digits, "_" or "-" (at most 64), got "${name}"`);
  const prefix = optionalString(table, "prefix", fail) ?? `${name}__`;
  if (!prefixPattern.test(prefix))
    fail("prefix", `must be letters, digits, "_", "-" or "." (at most 64), got "${prefix}"`);
  if (prefix === builtinPrefix) fail("prefix", `"${builtinPrefix}" belongs to Gatehouse's own tools`);
  const common = {
    name,
    prefix,
    read: globs(table, "read", fail),
    write: globs(table, "write", fail),
    hide: globs(table, "hide", fail),
  };
  const kinds = (["command", "url", "openapi"] as const).filter((key) => table[key] !== undefined);
  if (kinds.length !== 1) {
    fail(
      kinds[1] ?? "name",
      "set exactly one of command (a local stdio server), url (a Streamable HTTP server) or openapi (a REST API's OpenAPI document)",
    );
  }
  const kind = kinds[0]!;
  for (const [owner, keys] of Object.entries(kindKeys)) {
    if (owner !== kind)
      for (const key of keys) if (table[key] !== undefined) fail(key, `applies to ${owner} upstreams only`);
  }
  if (kind === "command" && table.headers !== undefined) fail("headers", "applies to url and openapi upstreams only");
  if (kind === "command") {
    const command = optionalString(table, "command", fail)!;
    if (command.trim() === "") fail("command", "must not be empty");
    return {
      ...common,
      kind: "stdio",
      command,
      args: stringList(table, "args", fail),
      env: stringTable(table, "env", fail, env),
      cwd: optionalString(table, "cwd", fail) ?? null,
      instances: instanceCount(table, fail),
    };
  }
  const headers = stringTable(table, "headers", fail, env);
  if (kind === "url") return { ...common, kind: "http", url: httpUrl(table, "url", fail), headers };
  const baseUrl = table.base_url === undefined ? null : httpUrl(table, "base_url", fail);
  return {
    ...common,
    kind: "openapi",
    openapi: documentLocation(table, fail, directory),
    baseUrl,
    headers,
    include: globs(table, "include", fail),
    exclude: globs(table, "exclude", fail),
  };
}

/** An http(s) URL without credentials (they belong in headers, which never reach logs or clients). */
function httpUrl(table: Table, key: string, fail: Fail): string {
  const url = optionalString(table, key, fail)!;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail(key, `not a URL: "${url}"`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    fail(key, `must be an http or https URL, got "${url}"`);
  if (parsed.username || parsed.password)
    fail(key, "must not hold a user name or password; send credentials in headers");
  return parsed.href;
}

/** `openapi`: an http(s) URL as it is, or a file path made absolute against the config file's directory. */
function documentLocation(table: Table, fail: Fail, directory: string): string {
  const value = optionalString(table, "openapi", fail)!;
  if (value.trim() === "") fail("openapi", "must not be empty: an http(s) URL or a file path of an OpenAPI document");
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return httpUrl(table, "openapi", fail);
  return resolve(directory, value);
}

// Each instance is a process: a bound keeps a typo (1000) from starting a thousand.
const maxInstances = 64;

/** `instances`: a whole number from 1 to 64; 1 when absent. */
function instanceCount(table: Table, fail: Fail): number {
  const value = table.instances ?? 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > maxInstances)
    fail("instances", `must be a whole number from 1 to ${maxInstances}, got ${JSON.stringify(value)}`);
  return value as number;
}

function optionalString(table: Table, key: string, fail: Fail): string | undefined {
  const value = table[key];
  if (value !== undefined && typeof value !== "string") fail(key, `must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function stringList(table: Table, key: string, fail: Fail): string[] {
  const value = table[key] ?? [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
    fail(key, 'must be a list of strings, such as ["a", "b"]');
  return value as string[];
}

function globs(table: Table, key: string, fail: Fail): string[] {
  const list = stringList(table, key, fail);
  if (list.some((g) => g.trim() === "")) fail(key, "must not hold an empty pattern");
  return list;
}

/**
 * A table of strings (env, headers). `${VAR}` in a value reads Gatehouse's
 * environment, so secrets stay out of the file; an undefined VAR is an error
 * rather than an empty credential sent upstream.
 */
function stringTable(
  table: Table,
  key: string,
  fail: Fail,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const value = table[key] ?? {};
  if (!isTable(value)) fail(key, 'must be a table, such as { Authorization = "Bearer ${TOKEN}" }');
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value as Table)) {
    if (typeof raw !== "string") fail(`${key}.${name}`, `must be a string, got ${JSON.stringify(raw)}`);
    out[name] = expandEnv(raw as string, env, (problem) => fail(`${key}.${name}`, problem));
  }
  return out;
}

/** `${VAR}` in a config value replaced from the environment; an undefined VAR fails (also used by src/identity/config.ts). */
export function expandEnv(
  value: string,
  env: Record<string, string | undefined>,
  fail: (problem: string) => never,
): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, variable: string) => {
    const found = env[variable];
    if (found === undefined) fail(`reads \${${variable}}, which is not set in the environment`);
    return found!;
  });
}
