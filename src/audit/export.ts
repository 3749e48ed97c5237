import type { Store } from "../db/store.ts";
import { listAuditEvents, type AuditFilter, type AuditListRow } from "./audit-store.ts";

// The audit log as JSON lines, newest first, read a page at a time as the
// client takes it: a large log is never held in memory whole.

const pageSize = 500;

/** One entry as an object: the columns in snake_case, `time` in ISO 8601, `detail` parsed. */
export function auditJson(row: AuditListRow): Record<string, unknown> {
  let detail: unknown = null;
  try {
    detail = row.detail === null ? null : JSON.parse(row.detail);
  } catch {
    detail = row.detail;
  }
  return {
    id: row.id,
    at: row.at,
    time: new Date(row.at * 1000).toISOString(),
    event: row.event,
    outcome: row.outcome,
    user_id: row.userId,
    email: row.email,
    client_id: row.clientId,
    api_key_id: row.apiKeyId,
    grant_id: row.grantId,
    tool: row.tool,
    upstream: row.upstream,
    duration_ms: row.durationMs,
    request_id: row.requestId,
    ip: row.ip,
    detail,
  };
}

export function auditJsonLines(db: Store, filter: AuditFilter): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let beforeId: number | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const rows = await listAuditEvents(db, filter, { beforeId, limit: pageSize });
      if (rows.length > 0) {
        controller.enqueue(encoder.encode(rows.map((r) => `${JSON.stringify(auditJson(r))}\n`).join("")));
        beforeId = rows.at(-1)!.id;
      }
      if (rows.length < pageSize) controller.close();
    },
  });
}
