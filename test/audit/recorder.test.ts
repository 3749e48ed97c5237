import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { createUser } from "../../src/accounts/users.ts";
import { createApp } from "../../src/app.ts";
import { deleteAuditEventsBefore } from "../../src/audit/audit-store.ts";
import { createAuditRecorder, purgeOldAuditEvents, type AuditRecorderOptions } from "../../src/audit/recorder.ts";
import { startWriterThread } from "../../src/db/audit-writer-thread.ts";
import { loadConfig } from "../../src/config.ts";
import { databaseFileName, openDatabase, type SqliteStore } from "../../src/db/client.ts";
import type { Store } from "../../src/db/store.ts";
import { migrate } from "../../src/db/migrate.ts";
import { closeStore } from "../../src/db/operations.ts";
import { first } from "../../src/db/transaction.ts";
import { createApiKey } from "../../src/keys/api-keys.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { serve } from "../../src/serve.ts";
import { freePort, tempDir } from "../helpers.ts";
import { waitFor } from "../support/wait-for.ts";

// The recorder itself: batching, flushing, failures, shutdown, retention.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function freshDb(): { db: SqliteStore; dir: string } {
  const dir = tempDir();
  dirs.push(dir);
  const db = openDatabase(dir);
  migrate(db.$client);
  return { db, dir };
}

const count = async (db: Store) => (await db.select().from(db.tables.auditEvents)).length;
/** Every audit entry, in the order written. */
const entries = (db: Store) => db.select().from(db.tables.auditEvents).orderBy(db.tables.auditEvents.id);
const now = () => Math.floor(Date.now() / 1000);
const recorder = (db: Store, extra: Partial<AuditRecorderOptions> = {}) =>
  createAuditRecorder({
    db,
    log: silentLogger,
    now,
    argumentsMode: "redacted",
    batch: { flushAfterMs: 3_600_000, maxBatch: 1000 },
    ...extra,
  });

/** A user with a Full API key, straight in the database. */
async function keyHolder(db: Store) {
  const user = await createUser(db, {
    email: `${Math.random().toString(36).slice(2)}@example.com`,
    password: null,
    isAdmin: false,
    now: now(),
  });
  return {
    user,
    token: (await createApiKey(db, { userId: user.id, name: "k", access: "full", expiresInSeconds: null, now: now() }))
      .token,
  };
}

/** One raw 2025-era tools/call of whoami; resolves once the answer is read. */
async function whoami(port: number, token: string) {
  const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${token}`,
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "gatehouse__whoami", arguments: {} },
    }),
  });
  await res.text();
  return res.status;
}

describe("batching", () => {
  test("entries wait in memory until flush(), then are written together", async () => {
    const { db } = freshDb();
    const audit = recorder(db);
    for (let i = 0; i < 3; i++) audit.record({ event: "sign_in", outcome: "ok", userId: `u${i}` });
    expect(await count(db)).toBe(0);
    audit.flush();
    expect((await entries(db)).map((r) => r.userId)).toEqual(["u0", "u1", "u2"]);
  });

  test("reaching maxBatch writes on the next turn without flush()", async () => {
    const { db } = freshDb();
    const audit = recorder(db, { batch: { flushAfterMs: 3_600_000, maxBatch: 5 } });
    for (let i = 0; i < 5; i++) audit.record({ event: "sign_in", outcome: "ok" });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await count(db)).toBe(5);
  });

  test("the timer writes what waits", async () => {
    const { db } = freshDb();
    const audit = recorder(db, { batch: { flushAfterMs: 5, maxBatch: 1000 } });
    audit.record({ event: "sign_in", outcome: "ok" });
    await waitFor(async () => (await count(db)) === 1);
    expect(await count(db)).toBe(1);
  });

  test("without batching (the CLI) each entry is written at once", async () => {
    const { db } = freshDb();
    recorder(db, { batch: false }).record({ event: "key_created", outcome: "ok" });
    expect(await count(db)).toBe(1);
  });

  test("after close() entries are written at once", async () => {
    const { db } = freshDb();
    const audit = recorder(db);
    audit.record({ event: "sign_in", outcome: "ok" });
    await audit.close();
    expect(await count(db)).toBe(1);
    audit.record({ event: "sign_in", outcome: "ok" });
    expect(await count(db)).toBe(2);
  });

  test("the entry's time is the recorder's clock unless given", async () => {
    const { db } = freshDb();
    const audit = recorder(db, { now: () => 1234 });
    audit.record({ event: "sign_in", outcome: "ok" });
    audit.record({ event: "sign_in", outcome: "ok", at: 99 });
    audit.flush();
    expect((await entries(db)).map((r) => r.at)).toEqual([1234, 99]);
  });
});

describe("on a writer thread (the server)", () => {
  test("drain() resolves once the thread has written every entry handed over", async () => {
    const { db } = freshDb();
    const audit = recorder(db, { thread: true });
    for (let i = 0; i < 600; i++) audit.record({ event: "tool_call", outcome: "ok", tool: "t", detail: { i } });
    await audit.drain();
    const rows = await entries(db);
    expect(rows.length).toBe(600);
    expect(rows.map((r) => JSON.parse(r.detail!).i)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    await audit.close();
  });

  test("every column arrives as recorded", async () => {
    const { db } = freshDb();
    const audit = recorder(db, { thread: true });
    const entry = {
      at: 77,
      event: "tool_call",
      outcome: "timeout",
      userId: "u",
      clientId: "c",
      apiKeyId: null,
      grantId: "g",
      tool: "web__slow",
      upstream: "web",
      durationMs: 1001.6,
      requestId: "r-1",
      ip: "10.0.0.1",
      detail: { error: "late" },
    } as const;
    audit.record(entry);
    await audit.drain();
    const { id, ...row } = first(await entries(db))!;
    expect(row).toEqual({ ...entry, durationMs: 1002, detail: '{"error":"late"}' });
    await audit.close();
  });

  test("close() writes what waits, then later entries are written at once", async () => {
    const { db } = freshDb();
    const audit = recorder(db, { thread: true });
    for (let i = 0; i < 5; i++) audit.record({ event: "sign_in", outcome: "ok" });
    expect(await count(db)).toBe(0);
    await audit.close();
    expect(await count(db)).toBe(5);
    audit.record({ event: "sign_in", outcome: "ok" });
    expect(await count(db)).toBe(6);
  });

  test("a write that fails on the thread is logged, and the next ones still go through", async () => {
    const { db } = freshDb();
    const lines: Record<string, unknown>[] = [];
    const audit = recorder(db, { thread: true, log: createLogger((l) => lines.push(JSON.parse(l))) });
    db.$client.run("ALTER TABLE audit_events RENAME TO audit_events_away");
    audit.record({ event: "sign_in", outcome: "ok" });
    await audit.drain();
    expect(lines.filter((l) => l.msg === "audit log write failed: entries dropped").map((l) => l.count)).toEqual([1]);
    db.$client.run("ALTER TABLE audit_events_away RENAME TO audit_events");
    audit.record({ event: "sign_in", outcome: "ok" });
    await audit.drain();
    expect(await count(db)).toBe(1);
    await audit.close();
  });
});

describe("checkpoints on the writer thread", () => {
  const autocheckpoint = (db: SqliteStore) =>
    db.$client.query<{ wal_autocheckpoint: number }, []>("PRAGMA wal_autocheckpoint").get()!.wal_autocheckpoint;

  test("the request connection stops checkpointing while the thread runs, and checkpoints again after", async () => {
    const { db } = freshDb();
    expect(autocheckpoint(db)).toBe(1000);
    const audit = recorder(db, { thread: true });
    expect(autocheckpoint(db)).toBe(0);
    await audit.close();
    expect(autocheckpoint(db)).toBe(1000);
  });

  test("the thread checkpoints what the request connection wrote", async () => {
    const { db, dir } = freshDb();
    const thread = startWriterThread({ file: `${dir}/${databaseFileName}`, sql: "SELECT 1", log: silentLogger });
    db.$client.run("PRAGMA wal_autocheckpoint = 0");
    for (let i = 0; i < 50; i++)
      await createUser(db, { email: `u${i}@example.com`, password: null, isAdmin: false, now: now() });
    const result = await thread.checkpoint();
    expect(result!.log).toBeGreaterThan(0);
    expect(result!.checkpointed).toBe(result!.log);
    await thread.close();
    expect(await thread.checkpoint()).toBeNull();
  });
});

describe("failures", () => {
  test("a failed write is logged and never thrown to the caller", async () => {
    const { db } = freshDb();
    const lines: Record<string, unknown>[] = [];
    const audit = recorder(db, { log: createLogger((l) => lines.push(JSON.parse(l))) });
    audit.record({ event: "sign_in", outcome: "ok" });
    await closeStore(db);
    expect(() => audit.flush()).not.toThrow();
    expect(() => audit.close()).not.toThrow();
    expect(() => audit.record({ event: "sign_in", outcome: "ok" })).not.toThrow();
    await audit.drain();
    expect(lines.filter((l) => l.msg === "audit log write failed: entries dropped").map((l) => l.count)).toEqual([
      1, 1,
    ]);
  });

  test("a detail that cannot be serialized is stored as a marker", async () => {
    const { db } = freshDb();
    const audit = recorder(db);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    audit.record({ event: "sign_in", outcome: "ok", detail: loop });
    audit.flush();
    expect(first(await entries(db))?.detail).toBe('{"unserializable":true}');
  });
});

describe("shutdown", () => {
  test("stopping the app writes the entries still waiting", async () => {
    const { db } = freshDb();
    const port = freePort();
    const config = loadConfig({ PORT: String(port), GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}` });
    const app = createApp({ config, db, log: silentLogger, now, audit: recorder(db) });
    app.listen({ port, hostname: "127.0.0.1" });
    const { token } = await keyHolder(db);
    for (let i = 0; i < 5; i++) expect(await whoami(port, token)).toBe(200);
    expect(await count(db)).toBe(0);
    await app.stop();
    expect(await count(db)).toBe(5);
    await closeStore(db);
  });

  test("serve()'s stop loses no entry: all are in the database file afterwards", async () => {
    const { db, dir } = freshDb();
    const port = freePort();
    const config = loadConfig({
      PORT: String(port),
      GATEHOUSE_HOST: "127.0.0.1",
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    });
    const { user, token } = await keyHolder(db);
    const running = await serve(config, db, silentLogger);
    for (let i = 0; i < 20; i++) expect(await whoami(port, token)).toBe(200);
    await running.stop();
    const reopened = openDatabase(dir);
    expect((await entries(reopened)).filter((r) => r.userId === user.id && r.event === "tool_call").length).toBe(20);
    await closeStore(reopened);
  });
});

describe("retention", () => {
  const day = 86400;

  test("the purge deletes entries older than the retention and keeps newer ones", async () => {
    const { db } = freshDb();
    const audit = recorder(db);
    const t = 1_800_000_000;
    for (const age of [100, 91, 89, 0])
      audit.record({ at: t - age * day, event: "sign_in", outcome: "ok", detail: { age } });
    audit.flush();
    expect(await purgeOldAuditEvents(db, t, 90 * day)).toBe(2);
    expect((await entries(db)).map((r) => JSON.parse(r.detail!).age)).toEqual([89, 0]);
  });

  test("a large purge goes a chunk at a time and removes all it should", async () => {
    const { db } = freshDb();
    const audit = recorder(db);
    for (let i = 0; i < 12; i++) audit.record({ at: 100 + i, event: "sign_in", outcome: "ok" });
    audit.record({ at: 1000, event: "sign_in", outcome: "ok" });
    audit.flush();
    expect(await deleteAuditEventsBefore(db, 500, 5)).toBe(12);
    expect(await count(db)).toBe(1);
  });
});
