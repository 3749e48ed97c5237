import type { Maybe } from "./execute-now.ts";
import { preparedPerDb } from "./prepared.ts";
import { onConnectionClosed } from "./postgres.ts";
import { postgresOf, type Store, sqliteOf } from "./store.ts";

// Read once per event-loop turn by the /mcp credential cache
// (src/mcp/credential-cache.ts), so it is plain SQL on bun:sqlite: a Drizzle
// statement prepared the same way and run through executeNow cost 2.9–3.0 µs
// a read against 0.92–0.93 µs here (1M reads, issue 15), Drizzle's row mapping
// being most of it. On PostgreSQL it is Bun's SQL, one round trip, a promise.
const epochQuery = preparedPerDb((db) =>
  sqliteOf(db).query<{ n: number }, []>("SELECT n FROM auth_epoch WHERE id = 1"),
);

/** The counter migration 0003's triggers raise on every change that can alter a bearer check's verdict. */
export function readAuthEpoch(db: Store): Maybe<number> {
  if (db.dialectSql.name === "postgres") return readPostgres(db);
  return epochOf(epochQuery(db).get());
}

async function readPostgres(db: Store): Promise<number> {
  const rows: { n: string | number }[] = await postgresOf(db)`SELECT n FROM auth_epoch WHERE id = 1`;
  return epochOf(rows[0] ?? null);
}

function epochOf(row: { n: string | number } | null): number {
  if (row === null) throw new Error("auth_epoch has no row: the database was not migrated");
  return Number(row.n);
}

/** Where /mcp's credential cache gets the epoch: a read each time, or a value kept current. */
export type AuthEpochSource = () => Maybe<number>;

/** The channel migration drizzle-pg/0001's trigger function notifies, with the new epoch as payload. */
const channel = "gatehouse_auth_epoch";

export interface AuthEpochFeed {
  /** The epoch as last notified, at once; a read, as without the feed, while the listening connection is not known to be up. */
  read: AuthEpochSource;
  close(): Promise<void>;
}

/**
 * PostgreSQL's optional epoch feed (GATEHOUSE_DATABASE_LISTEN): the epoch is
 * kept current by the triggers' notifications instead of read on every
 * /mcp request. A notification sent while the listening connection is down
 * is lost, so the feed trusts its value only between two known points:
 * - after LISTEN is acknowledged (at start, and after every reconnect), it
 *   reads the epoch afresh: every commit after that read notifies;
 * - when any pool connection closes (Bun's client does not say which), it
 *   stops trusting its value, sends itself a probe on the channel, and
 *   resynchronises when the probe comes back.
 * Meanwhile `read` reads the database, as without the feed.
 */
export async function listenForAuthEpoch(db: Store): Promise<AuthEpochFeed> {
  const client = postgresOf(db);
  const probe = `probe:${crypto.randomUUID()}`;
  let live: number | null = null;
  // The highest epoch notified while a resynchronising read was on its way.
  let notified = -1;
  let round = 0;
  const resync = () => {
    live = null;
    notified = -1;
    const mine = ++round;
    readPostgres(db).then(
      (n) => {
        if (mine === round) live = Math.max(n, notified);
      },
      () => {
        // Meanwhile every request reads; a probe a second later tries again.
        setTimeout(() => client.notify(channel, probe).catch(() => {}), 1000).unref();
      },
    );
  };
  const onNotify = (payload: string) => {
    if (payload === probe) {
      if (live === null) resync();
      return;
    }
    const n = Number(payload);
    if (!Number.isSafeInteger(n)) return;
    if (live !== null) live = Math.max(live, n);
    else notified = Math.max(notified, n);
  };
  const stopWatching = onConnectionClosed(client, () => {
    live = null;
    round++;
    client.notify(channel, probe).catch(() => {});
  });
  let subscribed!: () => void;
  const first = new Promise<void>((resolve) => (subscribed = resolve));
  const subscription = await client.listen(channel, onNotify, () => {
    resync();
    subscribed();
  });
  await first;
  return {
    read: () => live ?? readPostgres(db),
    async close() {
      stopWatching();
      await subscription.unlisten();
    },
  };
}
