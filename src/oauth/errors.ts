// RFC 6749 §5.2 errors (and the codes RFC 7591, 8707 and 7009 add), one
// class per code. Internal reasons go to the log; `description` is for the
// client developer and never carries secrets.

export class OAuthError extends Error {
  constructor(
    readonly code: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(`${code}: ${description}`);
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string) {
    super("invalid_request", description);
  }
}
export class InvalidClient extends OAuthError {
  /** RFC 6749 §5.2: 401, so clients that lost their registration register again. */
  constructor(description: string) {
    super("invalid_client", description, 401);
  }
}
export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super("invalid_grant", description);
  }
}
export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super("unauthorized_client", description);
  }
}
export class UnsupportedGrantType extends OAuthError {
  constructor(description: string) {
    super("unsupported_grant_type", description);
  }
}
export class UnsupportedResponseType extends OAuthError {
  constructor(description: string) {
    super("unsupported_response_type", description);
  }
}
export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super("invalid_scope", description);
  }
}
/** RFC 8707 §2. */
export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super("invalid_target", description);
  }
}
/** RFC 8628 §3.5: the person has not answered yet; poll again. */
export class AuthorizationPending extends OAuthError {
  constructor(description: string) {
    super("authorization_pending", description);
  }
}
/** RFC 8628 §3.5: polling too fast; the interval grew by 5 seconds. */
export class SlowDown extends OAuthError {
  constructor(description: string) {
    super("slow_down", description);
  }
}
/** RFC 8628 §3.5: the device_code expired; start again. */
export class ExpiredToken extends OAuthError {
  constructor(description: string) {
    super("expired_token", description);
  }
}
/** RFC 8628 §3.5: the person denied the request (400, unlike the authorization endpoint's page). */
export class DeviceAccessDenied extends OAuthError {
  constructor(description: string) {
    super("access_denied", description);
  }
}
/** RFC 7591 §3.2.2. */
export class InvalidRedirectUri extends OAuthError {
  constructor(description: string) {
    super("invalid_redirect_uri", description);
  }
}
/** RFC 7591 §3.2.2. */
export class InvalidClientMetadata extends OAuthError {
  constructor(description: string) {
    super("invalid_client_metadata", description);
  }
}
/** Too many requests from one address (registration, polling). */
export class TooManyRequests extends OAuthError {
  constructor(
    description: string,
    readonly retryAfterSeconds: number,
  ) {
    super("too_many_requests", description, 429);
  }
}

/**
 * The one serializer for OAuth errors: JSON `{error, error_description}`,
 * never cached. A non-OAuthError is a bug: `server_error`, details logged by
 * the caller, not sent.
 */
export function oauthErrorResponse(error: unknown, headers: Record<string, string> = {}): Response {
  const e =
    error instanceof OAuthError ? error : new OAuthError("server_error", "The server hit an unexpected error.", 500);
  const extra: Record<string, string> = { ...headers };
  if (e instanceof TooManyRequests) extra["retry-after"] = String(e.retryAfterSeconds);
  return Response.json(
    { error: e.code, error_description: e.description },
    { status: e.status, headers: { "cache-control": "no-store", pragma: "no-cache", ...extra } },
  );
}
