import { and, asc, count, desc, eq, gt, gte, inArray, isNull, lt, lte, or, sql, type SQL } from "drizzle-orm";
import type { Store } from "../db/store.ts";
import { preparedPerDb } from "../db/prepared.ts";
import type { auditEvents } from "../db/schema.ts";
import { first, q, transaction } from "../db/transaction.ts";

export type AuditEventRow = typeof auditEvents.$inferSelect;
export type NewAuditEvent = Omit<AuditEventRow, "id">;
/** An entry with its user's email, when the user still exists. */
export type AuditListRow = AuditEventRow & { email: string | null };

/** Every field is an exact match; `from` and `to` are unix seconds, both inclusive. */
export interface AuditFilter {
  userId?: string;
  /** The user's email, or for a failed sign-in (no user) the email tried. */
  email?: string;
  /** An OAuth client id or an API key id. */
  client?: string;
  tool?: string;
  /** The X-Request-Id the entry was recorded under. */
  requestId?: string;
  outcome?: string;
  event?: string;
  from?: number;
  to?: number;
}

function insertBuilder(db: Store) {
  return db.insert(db.tables.auditEvents).values({
    at: sql.placeholder("at"),
    event: sql.placeholder("event"),
    outcome: sql.placeholder("outcome"),
    userId: sql.placeholder("userId"),
    clientId: sql.placeholder("clientId"),
    apiKeyId: sql.placeholder("apiKeyId"),
    grantId: sql.placeholder("grantId"),
    tool: sql.placeholder("tool"),
    upstream: sql.placeholder("upstream"),
    durationMs: sql.placeholder("durationMs"),
    requestId: sql.placeholder("requestId"),
    ip: sql.placeholder("ip"),
    detail: sql.placeholder("detail"),
  });
}

const insertQuery = preparedPerDb((db) => insertBuilder(db).prepare());

/**
 * The same insert as SQL text with `?` parameters, and which field of a row
 * each parameter takes, for the writer thread (src/db/audit-writer-thread.ts), which has
 * a connection of its own and no Drizzle.
 */
export function auditInsertSql(db: Store): { sql: string; fields: (keyof NewAuditEvent)[] } {
  const { sql: text, params } = insertBuilder(db).toSQL();
  return { sql: text, fields: params.map((p) => (p as { value: { name: keyof NewAuditEvent } }).value.name) };
}

/** Writes a batch in one transaction: all of it or none. */
export async function insertAuditEvents(db: Store, rows: readonly NewAuditEvent[]): Promise<void> {
  if (rows.length === 0) return;
  await transaction(db, function* (tx) {
    const query = insertQuery(tx);
    for (const row of rows) yield* q(query, row);
  });
}

function conditions(db: Store, filter: AuditFilter): SQL | undefined {
  const { auditEvents, users } = db.tables;
  const c: (SQL | undefined)[] = [];
  if (filter.userId !== undefined) c.push(eq(auditEvents.userId, filter.userId));
  if (filter.email !== undefined) {
    const email = filter.email;
    c.push(
      or(
        sql`${auditEvents.userId} in (select ${users.id} from ${users} where ${users.email} = ${email})`,
        and(isNull(auditEvents.userId), eq(db.dialectSql.jsonText(auditEvents.detail, "email"), email)),
      ),
    );
  }
  if (filter.client !== undefined)
    c.push(or(eq(auditEvents.clientId, filter.client), eq(auditEvents.apiKeyId, filter.client)));
  if (filter.tool !== undefined) c.push(eq(auditEvents.tool, filter.tool));
  if (filter.requestId !== undefined) c.push(eq(auditEvents.requestId, filter.requestId));
  if (filter.outcome !== undefined) c.push(eq(auditEvents.outcome, filter.outcome));
  if (filter.event !== undefined) c.push(eq(auditEvents.event, filter.event));
  if (filter.from !== undefined) c.push(gte(auditEvents.at, filter.from));
  if (filter.to !== undefined) c.push(lte(auditEvents.at, filter.to));
  return and(...c);
}

/**
 * Newest first (by id, which is insertion order): up to `limit` entries
 * older than `beforeId`, or else the `limit` entries just newer than `afterId`.
 */
export async function listAuditEvents(
  db: Store,
  filter: AuditFilter,
  page: { beforeId?: number; afterId?: number; limit: number },
): Promise<AuditListRow[]> {
  const { auditEvents, users } = db.tables;
  const newer = page.beforeId === undefined && page.afterId !== undefined;
  const cursor =
    page.beforeId !== undefined
      ? lt(auditEvents.id, page.beforeId)
      : page.afterId !== undefined
        ? gt(auditEvents.id, page.afterId)
        : undefined;
  const found = await db
    .select({ entry: auditEvents, email: users.email })
    .from(auditEvents)
    .leftJoin(users, eq(users.id, auditEvents.userId))
    .where(and(conditions(db, filter), cursor))
    .orderBy(newer ? asc(auditEvents.id) : desc(auditEvents.id))
    .limit(page.limit);
  const rows = found.map(({ entry, email }) => ({ ...entry, email }));
  return newer ? rows.reverse() : rows;
}

/** How many entries match, or with `afterId` how many of them are newer than that entry. */
export async function countAuditEvents(db: Store, filter: AuditFilter, afterId?: number): Promise<number> {
  const { auditEvents } = db.tables;
  const where = and(conditions(db, filter), afterId === undefined ? undefined : gt(auditEvents.id, afterId));
  return first(await db.select({ n: count() }).from(auditEvents).where(where))?.n ?? 0;
}

/**
 * Deletes entries recorded before `cutoff` (unix seconds), a chunk at a time
 * so a large purge never holds the write lock for long. Returns how many went.
 */
export async function deleteAuditEventsBefore(db: Store, cutoff: number, chunk = 5000): Promise<number> {
  const { auditEvents } = db.tables;
  let total = 0;
  for (;;) {
    const ids = db.select({ id: auditEvents.id }).from(auditEvents).where(lt(auditEvents.at, cutoff)).limit(chunk);
    const removed = (await db.delete(auditEvents).where(inArray(auditEvents.id, ids)).returning({ id: auditEvents.id }))
      .length;
    total += removed;
    if (removed < chunk) return total;
  }
}
