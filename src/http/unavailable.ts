import { RateCountersUnavailable } from "../security/rate-limit.ts";

// A request that failed because a store Gatehouse shares with its other
// instances could not be reached (PostgreSQL restarting or failing over, Redis
// down) is answered 503 with Retry-After, in the shape of the endpoint it
// reached, rather than 500: nothing is wrong with the request, and a client
// that tries again shortly may well succeed.

/** Seconds a client is asked to wait (Retry-After, RFC 9110 §10.2.3). */
export const unavailableRetryAfterSeconds = 5;

// Bun's SQL client's own codes for a connection it could not open or lost.
const lostConnection = /^ERR_POSTGRES_(CONNECTION_|IDLE_TIMEOUT|LIFETIME_TIMEOUT)/;

// SQLSTATEs (PostgreSQL appendix A) of a server that cannot serve now: class
// 08 (connection exception), 57P01–57P03 (shutting down, crash shutdown,
// cannot connect now: a server starting or in recovery), 53300 (too many
// connections).
function unavailableState(state: string): boolean {
  return state.startsWith("08") || state === "57P01" || state === "57P02" || state === "57P03" || state === "53300";
}

/** Whether `error`, or an error it wraps (Drizzle wraps the driver's), says a shared store could not be reached. */
export function isUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof RateCountersUnavailable) return true;
    if (e.name !== "PostgresError") continue;
    const { code, errno } = e as Error & { code?: unknown; errno?: unknown };
    if (typeof code === "string" && lostConnection.test(code)) return true;
    if (typeof errno === "string" && unavailableState(errno)) return true;
  }
  return false;
}
