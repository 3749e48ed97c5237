import type { Operation, OperationParameter } from "./operations.ts";

// A tool call's arguments as the HTTP request its operation describes: path
// parameters substituted (percent-encoded, so a value cannot add a path
// segment), query parameters (arrays repeated unless explode is false),
// header parameters, the JSON body, and last the configured headers, which
// no argument can replace. Pure: no I/O.

export type BuiltRequest =
  | { ok: true; url: URL; method: string; headers: Headers; body: string | null }
  | { ok: false; message: string };

type Scalar = string | number | boolean;

/** Values written into a path, a query or a header: arrays and objects as OpenAPI's simple style writes them (`a,b`, `k,v`). */
function simple(value: unknown): string {
  if (Array.isArray(value)) return value.map(simple).join(",");
  if (typeof value === "object" && value !== null) return Object.entries(value).flat().map(simple).join(",");
  return String(value as Scalar);
}

function pathValue(
  parameter: OperationParameter,
  value: unknown,
): { ok: true; text: string } | { ok: false; message: string } {
  const text = simple(value);
  // "." and ".." stay dot segments even percent-encoded (WHATWG URL, path state), which would climb out of the operation's path.
  if (text === "." || text === ".." || text === "")
    return { ok: false, message: `path parameter ${parameter.name} must not be ${JSON.stringify(text)}` };
  return { ok: true, text: encodeURIComponent(text) };
}

function appendQuery(query: URLSearchParams, parameter: OperationParameter, value: unknown): void {
  const { name, style, explode } = parameter;
  if (Array.isArray(value)) {
    if (explode) for (const item of value) query.append(name, simple(item));
    else
      query.append(
        name,
        value.map(simple).join(style === "spaceDelimited" ? " " : style === "pipeDelimited" ? "|" : ","),
      );
    return;
  }
  if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (style === "deepObject") query.append(`${name}[${key}]`, simple(item));
      else if (explode) query.append(key, simple(item));
    }
    if (style !== "deepObject" && !explode) query.append(name, simple(value));
    return;
  }
  query.append(name, simple(value));
}

export function buildRequest(
  operation: Operation,
  baseUrl: string,
  args: Record<string, unknown>,
  configuredHeaders: Record<string, string>,
): BuiltRequest {
  const byName = new Map(operation.parameters.filter((p) => p.in === "path").map((p) => [p.name, p]));
  let problem: string | null = null;
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const parameter = byName.get(name);
    const value = parameter && args[parameter.key];
    if (!parameter || value === undefined || value === null) {
      problem ??= `path parameter ${name} is missing`;
      return "";
    }
    const written = pathValue(parameter, value);
    if (written.ok) return written.text;
    problem ??= written.message;
    return "";
  });
  if (problem !== null) return { ok: false, message: problem };
  const url = new URL(baseUrl);
  url.pathname = url.pathname.replace(/\/$/, "") + path;
  const headers = new Headers({ accept: "application/json, */*;q=0.5" });
  for (const parameter of operation.parameters) {
    const value = args[parameter.key];
    if (value === undefined || value === null || parameter.in === "path") continue;
    if (parameter.in === "query") appendQuery(url.searchParams, parameter, value);
    else {
      try {
        headers.set(parameter.name, simple(value));
      } catch {
        return { ok: false, message: `header parameter ${parameter.name} is not a valid header value` };
      }
    }
  }
  let body: string | null = null;
  if (operation.body && args.body !== undefined) {
    body = JSON.stringify(args.body);
    headers.set("content-type", operation.body.mediaType);
  }
  for (const [name, value] of Object.entries(configuredHeaders)) headers.set(name, value);
  return { ok: true, url, method: operation.method, headers, body };
}
