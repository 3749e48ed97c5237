// Times on pages: short and relative to the app's clock ("3 min ago", "in 6 days"), with the
// exact UTC time in the <time> element's datetime and title (shown on hover). Views never read
// the wall clock: every page that shows a time is given `now` by its route.

const minute = 60;
const hour = 60 * minute;
const day = 24 * hour;
const month = 30.44 * day;
const year = 365.25 * day;

/** `n` and the unit, plural when n ≠ 1. */
function count(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/**
 * How far `at` is from `now` (both unix seconds), in the largest unit that reads well, rounded:
 * "just now", "30 sec ago", "3 min ago", "2 hours ago", "yesterday", "in 6 days", "4 months ago",
 * "in 2 years". Each step's rounded value decides the next, so 59.5 min reads "1 hour ago".
 */
export function relativeTime(at: number, now: number): string {
  const seconds = Math.abs(now - at);
  const past = at <= now;
  const phrase = (text: string) => (past ? `${text} ago` : `in ${text}`);
  if (seconds < 10) return "just now";
  if (seconds < minute) return phrase(`${Math.floor(seconds)} sec`);
  const minutes = Math.round(seconds / minute);
  if (minutes < 60) return phrase(`${minutes} min`);
  const hours = Math.round(seconds / hour);
  if (hours < 24) return phrase(count(hours, "hour"));
  const days = Math.round(seconds / day);
  if (days === 1) return past ? "yesterday" : "tomorrow";
  if (days < 30) return phrase(count(days, "day"));
  const months = Math.round(seconds / month);
  if (months < 12) return phrase(count(months, "month"));
  return phrase(count(Math.max(1, Math.round(seconds / year)), "year"));
}

/** Unix seconds as "2026-05-01 13:45 UTC". */
export function exactTime(at: number): string {
  const iso = new Date(at * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** Unix seconds as a `<time>` reading "3 min ago", the exact UTC time on hover; a dash for null. */
export function Time({ at, now }: { at: number | null; now: number }): string {
  if (at === null) return "—";
  return (
    <time datetime={new Date(at * 1000).toISOString()} title={exactTime(at)} safe>
      {relativeTime(at, now)}
    </time>
  ) as string;
}

/** Within this of its end, a key is marked "Expires soon". */
export const expiresSoonSeconds = 7 * 86400;

/** Whether something that ends at `expiresAt` has ended, ends within 7 days, or neither. */
export function expiryOf(expiresAt: number | null, now: number): "expired" | "soon" | null {
  if (expiresAt === null) return null;
  if (expiresAt <= now) return "expired";
  return expiresAt - now <= expiresSoonSeconds ? "soon" : null;
}

/** "Expired" or "Expires soon" as a badge; nothing otherwise. */
export function ExpiryBadge({ expiresAt, now }: { expiresAt: number | null; now: number }): string {
  const state = expiryOf(expiresAt, now);
  if (state === null) return "";
  return (<span class={`badge ${state}`}>{state === "expired" ? "Expired" : "Expires soon"}</span>) as string;
}
