import type { Logger } from "../log.ts";
import { InvalidRequest, oauthErrorResponse, OAuthError } from "./errors.ts";

// Responses shared by the token, revocation and introspection endpoints.

/** A JSON answer that no cache may keep (RFC 6749 §5.1). */
export function noStoreJson(body: unknown, headers: Record<string, string> = {}): Response {
  return Response.json(body, { headers: { "cache-control": "no-store", pragma: "no-cache", ...headers } });
}

/**
 * The RFC 6749 §5.2 error for `error`. Anything that is not an OAuthError is
 * a bug: logged here with the request id, answered as a bare server_error.
 */
export function oauthFailure(
  log: Logger,
  request: Request,
  requestId: unknown,
  error: unknown,
  headers: Record<string, string> = {},
): Response {
  if (!(error instanceof OAuthError)) {
    log.error("unhandled error", {
      request_id: typeof requestId === "string" ? requestId : "",
      path: new URL(request.url).pathname,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
  return oauthErrorResponse(error, headers);
}

/** Form parameter that must be present (RFC 6749 §5.2: missing → invalid_request). */
export function requiredParam(params: Map<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw new InvalidRequest(`The parameter ${name} is required.`);
  return value;
}

