// Shared by the audit log tests: the entries an app has recorded, read from
// its database after writing whatever is still waiting.
import { asc } from "drizzle-orm";
import type { AuditEventRow } from "../../src/audit/audit-store.ts";
import type { TestApp } from "../helpers.ts";

export async function auditRows(app: TestApp, match: Partial<AuditEventRow> = {}): Promise<AuditEventRow[]> {
  await app.audit.drain();
  const { auditEvents } = app.db.tables;
  const rows = await app.db.select().from(auditEvents).orderBy(asc(auditEvents.id));
  return rows.filter((row) => Object.entries(match).every(([k, v]) => row[k as keyof AuditEventRow] === v));
}

/** The one entry matching `match`; fails when there are none or several. */
export async function onlyAuditRow(app: TestApp, match: Partial<AuditEventRow>): Promise<AuditEventRow> {
  const rows = await auditRows(app, match);
  if (rows.length !== 1)
    throw new Error(`expected one audit entry matching ${JSON.stringify(match)}, found ${rows.length}`);
  return rows[0]!;
}

export const detailOf = (row: AuditEventRow): Record<string, any> =>
  row.detail === null ? {} : JSON.parse(row.detail);
