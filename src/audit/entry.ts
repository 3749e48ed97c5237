// What one audit log entry says (the audit_events table, docs/storage.md).

export const auditEvents = [
  "tool_call",
  "token_issued",
  "token_refreshed",
  "token_revoked",
  "refresh_replay",
  "code_replay",
  "connection_revoked",
  "connection_limits_changed",
  "sign_in",
  "sign_in_failed",
  "key_created",
  "key_rotated",
  "key_revoked",
  "client_registered",
  "client_redirect_uris_changed",
  "client_secret_renewed",
  "client_deleted",
  "consent_given",
  "consent_denied",
  "user_code_failed",
  "bridge_code_delivered",
  "invitation_created",
  "invitation_revoked",
  "invitation_accepted",
  "user_disabled",
  "user_enabled",
  "user_admin_changed",
  "password_set",
  "service_account_created",
  "service_account_secret_renewed",
  "service_account_deleted",
  "identity_linked",
] as const;
export type AuditEvent = (typeof auditEvents)[number];

/**
 * ok; error (the tool failed); denied (refused: scope, permission, replay, wrong password); timeout;
 * cancelled (by the caller); input_required (the call answered with a round of questions, MCP
 * 2026-07-28: the retry that answers them is an entry of its own).
 */
export const auditOutcomes = ["ok", "error", "denied", "timeout", "cancelled", "input_required"] as const;
export type AuditOutcome = (typeof auditOutcomes)[number];

/** Where an entry came from: the request's X-Request-Id and the client address. */
export interface AuditContext {
  requestId?: string | null;
  ip?: string | null;
}

export interface AuditEntry extends AuditContext {
  event: AuditEvent;
  outcome: AuditOutcome;
  /** Unix seconds; the recorder's clock when absent. */
  at?: number;
  userId?: string | null;
  clientId?: string | null;
  apiKeyId?: string | null;
  grantId?: string | null;
  tool?: string | null;
  upstream?: string | null;
  durationMs?: number | null;
  /** Stored as JSON: arguments (per GATEHOUSE_AUDIT_ARGUMENTS), error message, email tried, … Never a secret. */
  detail?: Record<string, unknown> | null;
}

/** Takes entries; never throws into its caller. */
export interface AuditLog {
  record(entry: AuditEntry): void;
}

/** Appends a request's context to every entry it records. */
export function withAuditContext(log: AuditLog, context: AuditContext): AuditLog {
  return { record: (entry) => log.record({ ...context, ...entry }) };
}
