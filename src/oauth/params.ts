import { InvalidRequest } from "./errors.ts";

const maxBodyBytes = 64 * 1024;

/**
 * The parameters of an OAuth request body: form-encoded (RFC 6749 §4.1.3),
 * or JSON where the endpoint allows it. A parameter sent twice is
 * `invalid_request` (RFC 6749 §3.1), and so is an unreadable body.
 */
export async function readBodyParams(request: Request, opts: { json: boolean }): Promise<Map<string, string>> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const text = await request.text();
  if (text.length > maxBodyBytes) throw new InvalidRequest("The request body is too large.");
  if (type === "application/x-www-form-urlencoded") return uniqueParams(new URLSearchParams(text));
  if (type === "application/json" && opts.json) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new InvalidRequest("The JSON body could not be parsed.");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw new InvalidRequest("The JSON body must be an object.");
    const params = new Map<string, string>();
    for (const [key, value] of Object.entries(body)) {
      if (typeof value === "string") params.set(key, value);
      else if (typeof value === "number" || typeof value === "boolean") params.set(key, String(value));
      else if (value !== null) throw new InvalidRequest(`The parameter ${key} must be a string.`);
    }
    return params;
  }
  throw new InvalidRequest(
    `The body must be application/x-www-form-urlencoded${opts.json ? " or application/json" : ""}.`,
  );
}

/** Query or form parameters, refusing any that appear twice. Empty values count as absent. */
export function uniqueParams(search: URLSearchParams): Map<string, string> {
  const params = new Map<string, string>();
  for (const [key, value] of search) {
    if (params.has(key)) throw new InvalidRequest(`The parameter ${key} was sent more than once.`);
    if (value !== "") params.set(key, value);
  }
  return params;
}

/** Parameter that must be present (RFC 6749 §5.2: missing → invalid_request). */
export function requiredParam(params: Map<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw new InvalidRequest(`The parameter ${name} is required.`);
  return value;
}
