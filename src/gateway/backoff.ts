/** Reconnect (or reload) delays: from the first, doubling with each failure in a row, up to the cap (milliseconds). */
export interface Backoff {
  firstMs: number;
  maxMs: number;
}

export const defaultBackoff: Backoff = { firstMs: 1000, maxMs: 30_000 };

export function retryDelayMs(backoff: Backoff, failures: number): number {
  return Math.min(backoff.firstMs * 2 ** failures, backoff.maxMs);
}
