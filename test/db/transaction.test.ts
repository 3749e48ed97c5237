import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { eq, sql } from "drizzle-orm";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { openDatabase, type SqliteStore } from "../../src/db/client.ts";
import { andThen, executeNow } from "../../src/db/execute-now.ts";
import type { Store } from "../../src/db/store.ts";
import { first, q, transaction, type Steps } from "../../src/db/transaction.ts";
import { tempDir } from "../helpers.ts";

// src/db/transaction.ts on a real SQLite file: a body's queries run in one
// write transaction, a throw rolls all of them back, and no other request's
// write can land inside it (so none is lost to its rollback). The first test
// shows the hazard is real with a plain async transaction on bun:sqlite.

const notes = sqliteTable("notes", { id: integer("id").primaryKey(), text: text("text").notNull() });

let dir: string;
let db: SqliteStore;
beforeAll(() => {
  dir = tempDir();
  db = openDatabase(dir);
  db.$client.run("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
});
beforeEach(() => {
  db.$client.run("DELETE FROM notes");
});
afterAll(() => {
  db.$client.close();
  rmSync(dir, { recursive: true, force: true });
});

const texts = () =>
  db
    .select()
    .from(notes)
    .all()
    .map((n) => n.text)
    .sort();

/** Another request's write, as it would arrive while a transaction is open: on a later turn of the event loop. */
const laterWrite = (text: string) =>
  new Promise<void>((resolve) =>
    setTimeout(() => {
      db.insert(notes).values({ text }).run();
      resolve();
    }, 0),
  );

/** Another request's write whose turn is already queued (it resumes from its own await): a microtask. */
const queuedWrite = (text: string) =>
  new Promise<void>((resolve) =>
    queueMicrotask(() => {
      db.insert(notes).values({ text }).run();
      resolve();
    }),
  );

describe("the hazard a body must not open", () => {
  test("an async transaction on bun:sqlite takes in another request's write, and its rollback loses it", async () => {
    const other = laterWrite("someone else's");
    db.$client.run("BEGIN IMMEDIATE");
    db.insert(notes).values({ text: "mine" }).run();
    await other; // the await a naive async body would have
    db.$client.run("ROLLBACK");
    expect(texts()).toEqual([]);
  });
});

describe("transaction()", () => {
  test("runs the body's queries in order and resolves with what it returns", async () => {
    const found = await transaction(db, function* (tx) {
      yield* q(tx.insert(notes).values({ text: "a" }));
      const rows = yield* q(tx.select().from(notes).where(eq(notes.text, "a")).limit(1));
      return first(rows)?.text ?? null;
    });
    expect(found).toBe("a");
    expect(texts()).toEqual(["a"]);
  });

  test("returning() rows come back from an insert", async () => {
    const [row] = await transaction(db, function* (tx) {
      return yield* q(tx.insert(notes).values({ text: "b" }).returning());
    });
    expect(row?.text).toBe("b");
  });

  test("a throw rolls back every query of the body and rejects with it", async () => {
    const run = transaction(db, function* (tx) {
      yield* q(tx.insert(notes).values({ text: "c" }));
      yield* q(tx.update(notes).set({ text: "c2" }).where(eq(notes.text, "c")));
      throw new Error("refused");
    });
    await expect(run).rejects.toThrow("refused");
    expect(texts()).toEqual([]);
  });

  test("another request's write is never inside the body, so its rollback cannot lose it", async () => {
    // Queued before the body starts: a runner that awaited between queries would run it inside.
    const other = queuedWrite("someone else's");
    const run = transaction(db, function* (tx) {
      yield* q(tx.insert(notes).values({ text: "mine" }));
      yield* q(tx.select().from(notes));
      throw new Error("refused");
    });
    await expect(run).rejects.toThrow("refused");
    await other;
    expect(texts()).toEqual(["someone else's"]);
  });

  test("bodies compose with yield*: one transaction, rolled back as one", async () => {
    function* addNote(tx: Store, text: string): Steps<void> {
      yield* q(tx.insert(notes).values({ text }));
    }
    const run = transaction(db, function* (tx) {
      yield* addNote(tx, "outer");
      yield* addNote(tx, "inner");
      throw new Error("refused");
    });
    await expect(run).rejects.toThrow("refused");
    expect(texts()).toEqual([]);
  });

  test("a prepared statement runs in the body with its parameters, and rolls back with it", async () => {
    const insertNote = db
      .insert(notes)
      .values({ text: sql.placeholder("text") })
      .returning()
      .prepare();
    const run = transaction(db, function* () {
      const [row] = yield* q(insertNote, { text: "prepared" });
      expect(row?.text).toBe("prepared");
      expect(texts()).toEqual(["prepared"]);
      throw new Error("refused");
    });
    await expect(run).rejects.toThrow("refused");
    expect(texts()).toEqual([]);
  });

  test("a body that yields something other than a query is refused and rolled back", async () => {
    const run = transaction(db, function* (tx) {
      yield* q(tx.insert(notes).values({ text: "d" }));
      yield Promise.resolve(1) as never;
    });
    await expect(run).rejects.toThrow(TypeError);
    expect(texts()).toEqual([]);
  });

  test("an async body does not type-check: it could await inside the transaction", () => {
    // @ts-expect-error an async generator is not a transaction body
    const body: (tx: Store) => Steps<void> = async function* () {};
    expect(typeof body).toBe("function");
  });
});

describe("executeNow, the /mcp fast path's reads", () => {
  test("answers at once on SQLite, not with a promise", () => {
    db.$client.run("INSERT INTO notes (text) VALUES ('now')");
    const read = db
      .select()
      .from(notes)
      .where(eq(notes.text, sql.placeholder("text")))
      .prepare();
    const rows = executeNow(read, { text: "now" });
    expect(rows).not.toBeInstanceOf(Promise);
    expect(andThen(rows, (found) => found.map((r) => r.text))).toEqual(["now"]);
  });

  test("andThen chains a promise from a store that answers later", async () => {
    const later = andThen(Promise.resolve(2), (n) => n + 1);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toBe(3);
  });
});
