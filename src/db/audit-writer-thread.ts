import type { Logger } from "../log.ts";

// The server's audit writes run on a thread of their own, with a SQLite
// connection of their own (WAL lets it write beside the main one): inserting
// a row with its four index entries costs about 10 µs, which on the request
// thread would be a sizeable share of a fast tools/call. The request thread
// only hands each batch over. The thread's code is a string, run from a Blob
// URL, so the compiled binary needs no extra entrypoint; it is plain SQL on
// bun:sqlite, given the insert statement audit-store.ts builds with Drizzle.
// It opens its own connection by file name (src/db/operations.ts storeFile)
// and never touches the Store: a thread cannot share the request thread's
// connection, and only a SQLite database has a file a thread could open. So
// it lives in src/db, with what else is SQLite's own.
//
// The thread also checkpoints the write-ahead log, every checkpointEveryMs,
// while the request thread's connection has its own automatic checkpoints
// turned off (recorder.ts): a checkpoint copies every page the log holds
// into the database file and fsyncs both, milliseconds on which the request
// thread would answer nothing. Commits are what they were: each is in the
// log before its response goes out, and a checkpoint only moves it from
// there into the database file (https://sqlite.org/wal.html#ckpt).

/** How often the thread checkpoints the write-ahead log. */
const checkpointEveryMs = 1000;

const threadSource = `
import { Database } from "bun:sqlite";
let file, sql, db, write, timer;
function open() {
  if (db) return db;
  db = new Database(file);
  db.run("PRAGMA busy_timeout = 5000");
  db.run("PRAGMA synchronous = NORMAL");
  return db;
}
function writer() {
  const insert = open().prepare(sql);
  return db.transaction((rows) => { for (const row of rows) insert.run(...row); });
}
// PASSIVE: copies what no reader still needs, never waits for anyone.
function checkpoint() {
  return open().query("PRAGMA wal_checkpoint(PASSIVE)").get();
}
self.onmessage = ({ data }) => {
  if (data.type === "open") {
    ({ file, sql } = data);
    timer = setInterval(() => {
      try {
        checkpoint();
      } catch (error) {
        postMessage({ type: "checkpoint failed", error: String(error) });
      }
    }, data.checkpointEveryMs);
  } else if (data.type === "checkpoint") {
    try {
      postMessage({ type: "checkpointed", seq: data.seq, result: checkpoint() });
    } catch (error) {
      postMessage({ type: "checkpointed", seq: data.seq, result: null, error: String(error) });
    }
  } else if (data.type === "write") {
    try {
      write ??= writer();
      write.immediate(data.rows);
      postMessage({ type: "done", seq: data.seq });
    } catch (error) {
      // Prepared again next time: the failure may pass (a locked or changed database).
      write = undefined;
      postMessage({ type: "done", seq: data.seq, failed: data.rows.length, error: String(error) });
    }
  } else if (data.type === "close") {
    clearInterval(timer);
    db?.close();
    postMessage({ type: "closed" });
  }
};
`;

export interface WriterThread {
  /** Hands a batch (rows as parameter arrays) to the thread; false when the thread is gone. */
  write(rows: unknown[][]): boolean;
  /** Resolves once every batch handed over so far is written (or failed and logged). */
  drain(): Promise<void>;
  /** Checkpoints the write-ahead log now, as the thread does every second: frames in the log and frames copied, or null when it failed. */
  checkpoint(): Promise<{ log: number; checkpointed: number } | null>;
  /** Drains, closes the thread's connection and ends the thread. */
  close(): Promise<void>;
}

export function startWriterThread(options: {
  file: string;
  sql: string;
  log: Logger;
  /** Called once the thread is gone (closed or failed), so checkpoints become the caller's again. */
  onGone?: () => void;
}): WriterThread {
  const { log } = options;
  const url = URL.createObjectURL(new Blob([threadSource], { type: "application/javascript" }));
  const worker = new Worker(url);
  // The thread never keeps the process alive by itself; close() is how it ends.
  (worker as unknown as { unref(): void }).unref();
  let sent = 0;
  let done = 0;
  let alive = true;
  let waiters: { seq: number; resolve: () => void }[] = [];
  let closing: Promise<void> | null = null;
  type Checkpointed = { log: number; checkpointed: number } | null;
  let checkpoints = 0;
  const checkpointWaiters = new Map<number, (result: Checkpointed) => void>();
  const gone = () => {
    for (const resolve of checkpointWaiters.values()) resolve(null);
    checkpointWaiters.clear();
    options.onGone?.();
  };

  const settle = () => {
    const ready = waiters.filter((w) => !alive || w.seq <= done);
    waiters = waiters.filter((w) => alive && w.seq > done);
    for (const w of ready) w.resolve();
  };

  type Message = { type: string; seq?: number; failed?: number; error?: string; result?: Checkpointed };
  worker.onmessage = ({ data }: MessageEvent<Message>) => {
    if (data.type === "checkpoint failed") log.warn("write-ahead log checkpoint failed", { error: data.error });
    if (data.type === "checkpointed") {
      checkpointWaiters.get(data.seq!)?.(data.result ?? null);
      checkpointWaiters.delete(data.seq!);
    }
    if (data.type !== "done") return;
    done = data.seq!;
    if (data.failed) log.error("audit log write failed: entries dropped", { count: data.failed, error: data.error });
    settle();
  };
  worker.onerror = (event) => {
    log.error("audit log writer thread failed: entries in flight dropped", {
      count: sent - done,
      error: event.message,
    });
    alive = false;
    settle();
    gone();
  };
  worker.postMessage({ type: "open", file: options.file, sql: options.sql, checkpointEveryMs });

  const drain = () =>
    !alive || done >= sent ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ seq: sent, resolve }));

  return {
    write(rows) {
      if (!alive || closing !== null) return false;
      worker.postMessage({ type: "write", seq: ++sent, rows });
      return true;
    },
    drain,
    checkpoint() {
      if (!alive || closing !== null) return Promise.resolve(null);
      const seq = ++checkpoints;
      worker.postMessage({ type: "checkpoint", seq });
      return new Promise<Checkpointed>((resolve) => checkpointWaiters.set(seq, resolve));
    },
    close() {
      closing ??= (async () => {
        await drain();
        if (alive) {
          const closed = new Promise<void>((resolve) => {
            worker.addEventListener("message", (e) => e.data?.type === "closed" && resolve());
            worker.addEventListener("error", () => resolve());
          });
          worker.postMessage({ type: "close" });
          await closed;
        }
        const wasAlive = alive;
        alive = false;
        worker.terminate();
        URL.revokeObjectURL(url);
        if (wasAlive) gone();
      })();
      return closing;
    },
  };
}
