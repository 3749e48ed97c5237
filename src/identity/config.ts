import { readFileSync } from "node:fs";
import { fieldLine, syntaxErrorLine } from "../gateway/config-lines.ts";
import { expandEnv } from "../gateway/config.ts";

// Identity providers people sign in through, declared as [[identity_provider]]
// tables in the TOML file GATEHOUSE_CONFIG names (beside [[upstream]]).
// Validated once at start; every error names the file, the line and the field.

export type IdentityProviderType = "github" | "google" | "oidc";

export interface IdentityProviderConfig {
  /** Slug used in URLs (/sign-in/<id>) and in identity_links.provider. */
  id: string;
  type: IdentityProviderType;
  /** The button label. */
  name: string;
  /** The OpenID Connect issuer (google and oidc); null for github. */
  issuer: string | null;
  clientId: string;
  /** Null for an OIDC public client (PKCE only). */
  clientSecret: string | null;
  /** Lowercased email domains allowed to sign in; empty: any. */
  allowedDomains: string[];
  /** GitHub organizations (logins, lowercased) one of which the person must belong to; empty: any. */
  allowedOrgs: string[];
  /** invite: unknown people need an invitation; open: the first sign-in creates a member account. */
  signup: "invite" | "open";
  githubUrl: string;
  githubApiUrl: string;
}

/** A bad [[identity_provider]] table; the message is one line: `file:line: field: problem`. */
export class IdentityConfigError extends Error {}

export const googleIssuer = "https://accounts.google.com";
const keys = new Set([
  "id",
  "type",
  "name",
  "issuer",
  "client_id",
  "client_secret",
  "allowed_domains",
  "allowed_orgs",
  "signup",
  "github_url",
  "github_api_url",
]);
const idPattern = /^[a-z0-9][a-z0-9-]{0,31}$/;
const domainPattern = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;
const orgPattern = /^[a-z0-9]([a-z0-9-]{0,38})$/;

type Table = Record<string, unknown>;
type Fail = (field: string, problem: string) => never;
const isTable = (value: unknown): value is Table =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export function loadIdentityProviders(file: string, env: Record<string, string | undefined>): IdentityProviderConfig[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new IdentityConfigError(`${file}: cannot read the config file: ${(error as Error).message}`);
  }
  return parseIdentityProviders(file, text, env);
}

/** The [[identity_provider]] tables of the file; other tables are left to their own parsers. */
export function parseIdentityProviders(
  file: string,
  text: string,
  env: Record<string, string | undefined>,
): IdentityProviderConfig[] {
  let doc: Table;
  try {
    doc = Bun.TOML.parse(text) as Table;
  } catch (error) {
    const reason = (error as Error).message.replace(/^TOML Parse error: /, "");
    throw new IdentityConfigError(`${file}:${syntaxErrorLine(text)}: TOML syntax error: ${reason}`);
  }
  const fail = (index: number | null, field: string, problem: string): never => {
    const line = fieldLine(text, "identity_provider", index, field);
    const where = index === null ? field : `identity_provider[${index}].${field}`;
    throw new IdentityConfigError(`${file}:${line}: ${where}: ${problem}`);
  };
  const tables = doc.identity_provider ?? [];
  if (!Array.isArray(tables) || !tables.every(isTable))
    fail(null, "identity_provider", "must be written as [[identity_provider]] tables");
  const providers = (tables as Table[]).map((table, index) =>
    parseProvider(table, (field, problem) => fail(index, field, problem), env),
  );
  providers.forEach((p, index) => {
    const first = providers.findIndex((other) => other.id === p.id);
    if (first !== index) fail(index, "id", `"${p.id}" is already the id of identity_provider[${first}]`);
  });
  return providers;
}

function parseProvider(table: Table, fail: Fail, env: Record<string, string | undefined>): IdentityProviderConfig {
  for (const key of Object.keys(table))
    if (!keys.has(key)) fail(key, `unknown field; expected one of ${[...keys].join(", ")}`);
  const type = table.type;
  if (type !== "github" && type !== "google" && type !== "oidc")
    fail("type", `must be "github", "google" or "oidc", got ${JSON.stringify(type)}`);
  const id = requiredString(table, "id", fail, `a short slug used in the callback URL, such as "${type}"`);
  if (!idPattern.test(id)) fail("id", `must be lowercase letters, digits and "-" (at most 32), got "${id}"`);
  const name =
    optionalString(table, "name", fail) ?? (type === "github" ? "GitHub" : type === "google" ? "Google" : undefined);
  if (name === undefined || name.trim() === "")
    fail("name", "is required for an oidc provider: the label of its sign-in button");
  let issuer: string | null = null;
  if (type === "oidc") issuer = url(requiredString(table, "issuer", fail, "the provider's issuer URL"), "issuer", fail);
  else if (table.issuer !== undefined)
    fail(
      "issuer",
      type === "google" ? `is fixed for Google (${googleIssuer}); remove it` : "applies to oidc providers only",
    );
  if (type === "google") issuer = googleIssuer;
  if (type !== "github")
    for (const key of ["allowed_orgs", "github_url", "github_api_url"])
      if (table[key] !== undefined) fail(key, "applies to github providers only");
  const clientId = expandEnv(
    requiredString(table, "client_id", fail, "the client id the provider gave you"),
    env,
    (p) => fail("client_id", p),
  );
  const rawSecret =
    type === "oidc"
      ? optionalString(table, "client_secret", fail)
      : requiredString(table, "client_secret", fail, 'the client secret, e.g. "${GITHUB_CLIENT_SECRET}"');
  const clientSecret = rawSecret === undefined ? null : expandEnv(rawSecret, env, (p) => fail("client_secret", p));
  if (clientSecret === "") fail("client_secret", "is empty");
  const signup = optionalString(table, "signup", fail) ?? "invite";
  if (signup !== "invite" && signup !== "open") fail("signup", `must be "invite" or "open", got "${signup}"`);
  const allowedDomains = stringList(table, "allowed_domains", fail).map((d) => d.toLowerCase().replace(/^@/, ""));
  for (const d of allowedDomains)
    if (!domainPattern.test(d)) fail("allowed_domains", `"${d}" is not a domain name such as "example.com"`);
  const allowedOrgs = stringList(table, "allowed_orgs", fail).map((o) => o.toLowerCase());
  for (const o of allowedOrgs)
    if (!orgPattern.test(o)) fail("allowed_orgs", `"${o}" is not a GitHub organization login`);
  return {
    id,
    type,
    name: name.trim(),
    issuer,
    clientId,
    clientSecret,
    allowedDomains,
    allowedOrgs,
    signup,
    githubUrl: url(optionalString(table, "github_url", fail) ?? "https://github.com", "github_url", fail),
    githubApiUrl: url(
      optionalString(table, "github_api_url", fail) ?? "https://api.github.com",
      "github_api_url",
      fail,
    ),
  };
}

/** An https URL (http only on a loopback host), without a trailing slash unless it has a path. */
function url(value: string, field: string, fail: Fail): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    fail(field, `not a URL: "${value}"`);
  }
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && isLoopbackHost(parsed.hostname))) {
    fail(field, `must be an https URL (http only on 127.0.0.1, [::1] or localhost), got "${value}"`);
  }
  if (parsed.search || parsed.hash || parsed.username || parsed.password)
    fail(field, `must not have a query, fragment or credentials, got "${value}"`);
  // The issuer is compared byte for byte with the discovery document's, so it is kept as written.
  return value;
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function optionalString(table: Table, key: string, fail: Fail): string | undefined {
  const value = table[key];
  if (value !== undefined && typeof value !== "string") fail(key, `must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function requiredString(table: Table, key: string, fail: Fail, hint: string): string {
  const value = optionalString(table, key, fail);
  if (value === undefined || value.trim() === "") fail(key, `is required: ${hint}`);
  return value;
}

function stringList(table: Table, key: string, fail: Fail): string[] {
  const value = table[key] ?? [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
    fail(key, 'must be a list of strings, such as ["example.com"]');
  return value as string[];
}
