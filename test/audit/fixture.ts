// Shared by the audit log tests: the entries an app has recorded, read from
// its SQLite file after writing whatever is still waiting.
import { asc } from "drizzle-orm";
import type { AuditEventRow } from "../../src/audit/audit-store.ts";
import { auditEvents } from "../../src/db/schema.ts";
import type { TestApp } from "../helpers.ts";

export function auditRows(app: TestApp, match: Partial<AuditEventRow> = {}): AuditEventRow[] {
  app.audit.flush();
  const rows = app.db.select().from(auditEvents).orderBy(asc(auditEvents.id)).all();
  return rows.filter((row) => Object.entries(match).every(([k, v]) => row[k as keyof AuditEventRow] === v));
}

/** The one entry matching `match`; fails when there are none or several. */
export function onlyAuditRow(app: TestApp, match: Partial<AuditEventRow>): AuditEventRow {
  const rows = auditRows(app, match);
  if (rows.length !== 1)
    throw new Error(`expected one audit entry matching ${JSON.stringify(match)}, found ${rows.length}`);
  return rows[0]!;
}

export const detailOf = (row: AuditEventRow): Record<string, any> =>
  row.detail === null ? {} : JSON.parse(row.detail);
