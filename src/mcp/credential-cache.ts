import type { Db } from "../db/client.ts";
import { readAuthEpoch } from "./auth-epoch-store.ts";

// What the /mcp bearer check looked up (a key or token row with its user,
// authorization and client), kept between requests while the auth epoch stands
// still. Any revocation, rotation, expiry change, scope or tool change, user
// disablement or deletion, by this process or another (the CLI), raises the
// epoch through triggers (migration 0003), and the next request drops the
// whole cache before it looks. A request then costs one one-row read instead
// of a three-table join. Only found rows are kept, and the presented secret
// is still hashed and compared on every request.

const maxEntries = 10_000;

export interface CredentialCache {
  /** `load(id)` through the cache; `kind` keeps API keys and tokens apart. */
  lookup<T extends object>(kind: string, id: string, load: (id: string) => T | null): T | null;
}

export function createCredentialCache(db: Db): CredentialCache {
  let epoch = -1;
  let entries = new Map<string, object>();
  return {
    lookup<T extends object>(kind: string, id: string, load: (id: string) => T | null): T | null {
      const now = readAuthEpoch(db);
      if (now !== epoch || entries.size >= maxEntries) {
        entries = new Map();
        epoch = now;
      }
      const key = `${kind}:${id}`;
      const cached = entries.get(key) as T | undefined;
      if (cached !== undefined) return cached;
      const loaded = load(id);
      if (loaded !== null) entries.set(key, loaded);
      return loaded;
    },
  };
}
