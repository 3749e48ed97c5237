import type { Logger } from "../log.ts";

// The server's audit writes run on a thread of their own, with a SQLite
// connection of their own (WAL lets it write beside the main one): inserting
// a row with its four index entries costs about 10 µs, which on the request
// thread would be a sizeable share of a fast tools/call. The request thread
// only hands each batch over. The thread's code is a string, run from a Blob
// URL, so the compiled binary needs no extra entrypoint; it is plain SQL on
// bun:sqlite, given the insert statement audit-store.ts builds with Drizzle.

const threadSource = `
import { Database } from "bun:sqlite";
let file, sql, db, write;
function writer() {
  db ??= new Database(file);
  db.run("PRAGMA busy_timeout = 5000");
  db.run("PRAGMA synchronous = NORMAL");
  const insert = db.prepare(sql);
  return db.transaction((rows) => { for (const row of rows) insert.run(...row); });
}
self.onmessage = ({ data }) => {
  if (data.type === "open") {
    ({ file, sql } = data);
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
  /** Drains, closes the thread's connection and ends the thread. */
  close(): Promise<void>;
}

export function startWriterThread(options: { file: string; sql: string; log: Logger }): WriterThread {
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

  const settle = () => {
    const ready = waiters.filter((w) => !alive || w.seq <= done);
    waiters = waiters.filter((w) => alive && w.seq > done);
    for (const w of ready) w.resolve();
  };

  worker.onmessage = ({ data }: MessageEvent<{ type: string; seq?: number; failed?: number; error?: string }>) => {
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
  };
  worker.postMessage({ type: "open", file: options.file, sql: options.sql });

  const drain = () =>
    !alive || done >= sent ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ seq: sent, resolve }));

  return {
    write(rows) {
      if (!alive || closing) return false;
      worker.postMessage({ type: "write", seq: ++sent, rows });
      return true;
    },
    drain,
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
        alive = false;
        worker.terminate();
        URL.revokeObjectURL(url);
      })();
      return closing;
    },
  };
}
