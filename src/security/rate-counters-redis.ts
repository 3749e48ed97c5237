import { RedisClient } from "bun";
import type { RateCounters } from "./rate-limit.ts";

// The counts in Redis (GATEHOUSE_REDIS_URL), shared by every instance that
// names the same server (issue 16), through Bun's own client. A take is one
// EVAL of the script below: Redis runs a script whole, with nothing between
// its reads and writes, so the roll-over, the check and the count are one
// step, one round trip. A key is a hash of its count and the window's end;
// the window follows the app's clock (`now`), and Redis's own expiry, set to
// the window's end, only clears keys that stop coming.
//
// Unreachable, Redis fails the requests that need a count (fail closed: a
// throttle that lets everything through is no throttle) within
// `connectTimeoutMs`, and the next request connects again: Bun's client gives
// up for good once its own reconnection attempts run out, and queues
// commands meanwhile, which would hold each request for half a minute.

const keyPrefix = "gatehouse:rate:";
const connectTimeoutMs = 2000;

// KEYS[1] the counter; ARGV: events, limit, window seconds, now (unix seconds).
// Returns {allowed (1 or 0), count after, window end}. A refused take writes nothing.
const takeScript = `
local events, limit, seconds, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local w = redis.call('HMGET', KEYS[1], 'count', 'ends_at')
local count, ends_at = tonumber(w[1]), tonumber(w[2])
if not ends_at or ends_at <= now then
  count, ends_at = 0, now + seconds
end
if count + events > limit then
  return {0, count, ends_at}
end
count = count + events
redis.call('HSET', KEYS[1], 'count', count, 'ends_at', ends_at)
redis.call('EXPIRE', KEYS[1], ends_at - now)
return {1, count, ends_at}
`;

// KEYS[1] the counter; ARGV: events, now. Lowers the count of a window not yet ended, never below 0.
const releaseScript = `
local w = redis.call('HMGET', KEYS[1], 'count', 'ends_at')
local count, ends_at = tonumber(w[1]), tonumber(w[2])
if ends_at and ends_at > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'count', math.max(0, count - tonumber(ARGV[1])))
end
return 0
`;

export function redisRateCounters(url: string): RateCounters {
  let client: RedisClient | null = null;
  let opening: Promise<RedisClient> | null = null;
  /** The connection, opened on first use and again once lost; one opening at a time. */
  const connection = (): RedisClient | Promise<RedisClient> => {
    if (client?.connected) return client;
    opening ??= (async () => {
      client?.close();
      const next = new RedisClient(url, {
        connectionTimeout: connectTimeoutMs,
        autoReconnect: false,
        enableOfflineQueue: false,
      });
      try {
        await next.connect();
        client = next;
        return next;
      } finally {
        opening = null;
      }
    })();
    return opening;
  };
  const run = async (command: string, args: string[]): Promise<unknown> => (await connection()).send(command, args);
  return {
    async take(key, events, window, now) {
      const args = [String(events), String(window.limit), String(window.seconds), String(now)];
      const answer = await run("EVAL", [takeScript, "1", keyPrefix + key, ...args]);
      const [allowed, count, endsAt] = answer as [number, number, number];
      return { allowed: allowed === 1, count, endsAt };
    },
    async release(key, events, now) {
      await run("EVAL", [releaseScript, "1", keyPrefix + key, String(events), String(now)]);
    },
    async reset(key) {
      await run("DEL", [keyPrefix + key]);
    },
    close() {
      client?.close();
    },
  };
}
