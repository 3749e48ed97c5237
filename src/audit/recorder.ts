import type { AuditArgumentsMode } from "../config.ts";
import { pauseAutoCheckpoints, storeFile } from "../db/operations.ts";
import type { Store } from "../db/store.ts";
import type { Logger } from "../log.ts";
import { auditInsertSql, deleteAuditEventsBefore, insertAuditEvents, type NewAuditEvent } from "./audit-store.ts";
import type { AuditEntry, AuditLog } from "./entry.ts";
import { startWriterThread, type WriterThread } from "../db/audit-writer-thread.ts";

/**
 * The app's one audit log writer. Entries wait in memory and are written in
 * one transaction per batch: `flushAfterMs` after the first of them, at once
 * (on the next turn) when `maxBatch` are waiting, and on close(), so a tool
 * call costs an array push rather than a write. With `thread` (the server)
 * the batches are written on a thread of their own (src/db/audit-writer-thread.ts).
 * Without batching (the CLI), and after close(), each entry is written at
 * once on the caller's connection.
 *
 * It never throws into its caller: an entry that cannot be written is
 * dropped and logged.
 */
export interface AuditRecorder extends AuditLog {
  /** What tool call entries keep of the arguments (GATEHOUSE_AUDIT_ARGUMENTS). */
  readonly argumentsMode: AuditArgumentsMode;
  /** Hands every waiting entry to the writer now; without a thread they are in the database on return. */
  flush(): void;
  /** Flushes, then resolves once the writer thread (if any) has written everything handed to it. */
  drain(): Promise<void>;
  /** Drains and stops the timer and the thread; later entries are written one by one. */
  close(): Promise<void>;
}

export interface AuditRecorderOptions {
  db: Store;
  log: Logger;
  /** Unix seconds. */
  now: () => number;
  argumentsMode: AuditArgumentsMode;
  batch?: { flushAfterMs: number; maxBatch: number } | false;
  /** Write batches on a thread with its own connection (needs a database file). */
  thread?: boolean;
}

export const defaultAuditBatch = { flushAfterMs: 500, maxBatch: 256 };

function rowOf(entry: AuditEntry, now: () => number): NewAuditEvent {
  let detail: string | null = null;
  if (entry.detail) {
    try {
      detail = JSON.stringify(entry.detail);
    } catch {
      detail = JSON.stringify({ unserializable: true });
    }
  }
  return {
    at: entry.at ?? now(),
    event: entry.event,
    outcome: entry.outcome,
    userId: entry.userId ?? null,
    clientId: entry.clientId ?? null,
    apiKeyId: entry.apiKeyId ?? null,
    grantId: entry.grantId ?? null,
    tool: entry.tool ?? null,
    upstream: entry.upstream ?? null,
    durationMs: entry.durationMs == null ? null : Math.round(entry.durationMs),
    requestId: entry.requestId || null,
    ip: entry.ip ?? null,
    detail,
  };
}

/**
 * The writer thread, which from now on also checkpoints the write-ahead log
 * (src/db/audit-writer-thread.ts): the request thread's connection stops checkpointing
 * until the thread is gone, then checkpoints as before.
 */
function threadFor(options: AuditRecorderOptions): { thread: WriterThread; fields: (keyof NewAuditEvent)[] } | null {
  const file = storeFile(options.db);
  if (!options.thread || file === null) return null;
  const { sql, fields } = auditInsertSql(options.db);
  let resume = () => {};
  const thread = startWriterThread({ file, sql, log: options.log, onGone: () => resume() });
  resume = pauseAutoCheckpoints(options.db);
  return { thread, fields };
}

export function createAuditRecorder(options: AuditRecorderOptions): AuditRecorder {
  const { db, log, now } = options;
  const batch = options.batch === undefined ? defaultAuditBatch : options.batch;
  const writer = batch === false ? null : threadFor(options);
  let queue: NewAuditEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let soon: ReturnType<typeof setImmediate> | null = null;
  let closed = batch === false;
  let closing: Promise<void> | null = null;

  // Writes on this connection not yet settled: on SQLite each is done before
  // insertAuditEvents returns, on a store that answers later drain() waits.
  const writing = new Set<Promise<void>>();
  const writeHere = (rows: NewAuditEvent[]) => {
    const write = insertAuditEvents(db, rows).catch((error: unknown) => {
      log.error("audit log write failed: entries dropped", {
        count: rows.length,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    });
    writing.add(write);
    void write.finally(() => writing.delete(write));
  };

  const flush = () => {
    if (timer) clearTimeout(timer);
    if (soon) clearImmediate(soon);
    timer = soon = null;
    if (queue.length === 0) return;
    const rows = queue;
    queue = [];
    const handed = writer?.thread.write(rows.map((row) => writer.fields.map((field) => row[field]))) ?? false;
    if (!handed) writeHere(rows);
  };

  const record = (entry: AuditEntry) => {
    try {
      const row = rowOf(entry, now);
      if (closed || batch === false) return writeHere([row]);
      queue.push(row);
      if (queue.length >= batch.maxBatch) soon ??= setImmediate(flush);
      else if (timer === null) {
        timer = setTimeout(flush, batch.flushAfterMs);
        timer.unref?.();
      }
    } catch (error) {
      log.error("audit log entry dropped", { error: error instanceof Error ? error.message : String(error) });
    }
  };

  const drain = async () => {
    flush();
    await writer?.thread.drain();
    await Promise.all(writing);
  };

  return {
    argumentsMode: options.argumentsMode,
    record,
    flush,
    drain,
    close() {
      closed = true;
      closing ??= (async () => {
        flush();
        await writer?.thread.close();
        await Promise.all(writing);
      })();
      return closing;
    },
  };
}

/** The periodic purge (src/serve.ts): entries older than the retention go. */
export function purgeOldAuditEvents(db: Store, now: number, retentionSeconds: number): Promise<number> {
  return deleteAuditEventsBefore(db, now - retentionSeconds);
}
