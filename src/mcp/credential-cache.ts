import { type AuthEpochSource, readAuthEpoch } from "../db/auth-epoch.ts";
import type { Maybe } from "../db/execute-now.ts";
import type { Store } from "../db/store.ts";
import type { Caller } from "./caller.ts";

// The /mcp bearer checks that passed, kept between requests while the auth
// epoch stands still, so a repeated token costs one hash and one one-row read
// instead of a parse, a lookup and a constant-time compare. Any revocation,
// rotation, expiry change, scope, tool or limit change, user disablement or
// deletion, by this process or another (the CLI), raises the epoch through
// triggers (migrations 0003, 0009), and the epoch is read once per
// event-loop turn: the first request after such a commit drops every entry
// and checks afresh. Once a turn is enough, because a request is read from
// its socket at the start of the turn that serves it: one sent after the
// commit lands in a later turn than the commit, and the requests sharing a
// turn's read all arrived before it (concurrent with the change, which may
// order them either way). Under load a turn serves several requests, and the
// read (a WAL read transaction: two fcntl locks) cost about 7 µs of each;
// `PRAGMA data_version` opens the same transaction and would cost the same.
//
// Entries are keyed by the SHA-256 of the presented token, never the token: a
// hit means the very token that passed is presented again (a digest found in
// a Map tells an attacker nothing without a preimage). An entry ends at the
// credential's expiry, so time alone also turns it away.
//
// On SQLite the epoch read and the last-use touch answer at once, so a hit
// costs no await (src/db/execute-now.ts); on a store that answers later the
// verdict is a promise that settles after both, so a failed touch fails the
// request as it does on SQLite, never a promise left floating.

const maxEntries = 10_000;

export interface Verified {
  caller: Caller;
  /** Records the credential's last use (at most once a minute, as a full check does). */
  touch(now: number): Maybe<void>;
}

/** No entry: check afresh, then `set` with this miss, whose epoch was read before the check began. */
export interface Miss {
  readonly epoch: number;
}

export interface CredentialCache {
  /** The caller a token with this digest was verified as, if nothing that could change the verdict changed since. */
  get(digest: string, now: number): Maybe<Caller | Miss>;
  /**
   * Remembers a check that passed, unless the epoch moved since `miss` was
   * read: on a store that answers later, a revocation can commit while the
   * check is on its way, and its verdict must not outlive the epoch it was
   * made under.
   */
  set(digest: string, verified: Verified, miss: Miss): void;
}

/** The cache key of a presented token (Bun's one-shot SHA-256: under load a tenth of node:crypto's createHash). */
export function tokenDigest(token: string): string {
  return Bun.SHA256.hash(token, "base64");
}

export function createCredentialCache(db: Store, source: AuthEpochSource = () => readAuthEpoch(db)): CredentialCache {
  let epoch = -1;
  let entries = new Map<string, Verified>();
  // The epoch as read in this event-loop turn; setImmediate forgets it before the next.
  let read: Maybe<number> | null = null;
  const forget = () => {
    read = null;
  };
  const epochNow = () => {
    if (read === null) {
      read = source();
      setImmediate(forget);
    }
    return read;
  };
  const lookup = (digest: string, now: number, current: number): Maybe<Caller | Miss> => {
    if (current !== epoch) {
      entries = new Map();
      epoch = current;
      return { epoch: current };
    }
    const verified = entries.get(digest);
    if (verified === undefined) return { epoch: current };
    const { expiresAt } = verified.caller;
    if (expiresAt !== null && expiresAt <= now) {
      entries.delete(digest);
      return { epoch: current };
    }
    const touched = verified.touch(now);
    return touched instanceof Promise ? touched.then(() => verified.caller) : verified.caller;
  };
  // Branches rather than andThen's closures: this runs on every /mcp request.
  return {
    get(digest, now) {
      const current = epochNow();
      return current instanceof Promise
        ? current.then((read) => lookup(digest, now, read))
        : lookup(digest, now, current);
    },
    set(digest, verified, miss) {
      if (miss.epoch !== epoch) return;
      if (entries.size >= maxEntries) entries = new Map();
      entries.set(digest, verified);
    },
  };
}
