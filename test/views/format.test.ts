import { describe, expect, test } from "bun:test";
import { exactTime, expiryOf, relativeTime, Time } from "../../views/format.tsx";

const now = Math.floor(Date.parse("2026-05-10T12:00:00Z") / 1000);
const minute = 60;
const hour = 3600;
const day = 86400;
const ago = (seconds: number) => relativeTime(now - seconds, now);
const ahead = (seconds: number) => relativeTime(now + seconds, now);

describe("relativeTime", () => {
  test("under ten seconds either way is just now", () => {
    expect(ago(0)).toBe("just now");
    expect(ago(9)).toBe("just now");
    expect(ahead(9)).toBe("just now");
  });

  test("seconds, from ten to 59", () => {
    expect(ago(10)).toBe("10 sec ago");
    expect(ago(59)).toBe("59 sec ago");
    expect(ahead(30)).toBe("in 30 sec");
  });

  test("minutes, rounded, up to 59", () => {
    expect(ago(60)).toBe("1 min ago");
    expect(ago(3 * minute + 20)).toBe("3 min ago");
    expect(ago(59 * minute + 29)).toBe("59 min ago");
    expect(ahead(5 * minute)).toBe("in 5 min");
  });

  test("hours, from the minute that rounds to 60", () => {
    expect(ago(59 * minute + 30)).toBe("1 hour ago");
    expect(ago(2 * hour)).toBe("2 hours ago");
    expect(ago(23 * hour + 29 * minute)).toBe("23 hours ago");
    expect(ahead(3 * hour)).toBe("in 3 hours");
  });

  test("a day is yesterday or tomorrow", () => {
    expect(ago(23 * hour + 30 * minute)).toBe("yesterday");
    expect(ago(day + 11 * hour)).toBe("yesterday");
    expect(ahead(day)).toBe("tomorrow");
  });

  test("days, up to 29", () => {
    expect(ago(day + 12 * hour)).toBe("2 days ago");
    expect(ahead(6 * day + 23 * hour)).toBe("in 7 days");
    expect(ahead(6 * day)).toBe("in 6 days");
    expect(ago(29 * day)).toBe("29 days ago");
  });

  test("months, from 30 days up to 11", () => {
    expect(ago(30 * day)).toBe("1 month ago");
    expect(ago(4 * 30.44 * day)).toBe("4 months ago");
    expect(ahead(90 * day)).toBe("in 3 months");
    expect(ago(334 * day)).toBe("11 months ago");
  });

  test("years, from the month that rounds to 12", () => {
    expect(ago(351 * day)).toBe("1 year ago");
    expect(ahead(365 * day)).toBe("in 1 year");
    expect(ago(3 * 365 * day)).toBe("3 years ago");
  });
});

describe("Time", () => {
  test("a <time> with the ISO datetime and the exact UTC time as its title", () => {
    expect(Time({ at: now - 3 * minute, now })).toBe(
      '<time datetime="2026-05-10T11:57:00.000Z" title="2026-05-10 11:57 UTC">3 min ago</time>',
    );
    expect(exactTime(now)).toBe("2026-05-10 12:00 UTC");
  });

  test("null is a dash", () => {
    expect(Time({ at: null, now })).toBe("—");
  });
});

describe("expiryOf", () => {
  test("expired at its end, soon within 7 days of it, else nothing", () => {
    expect(expiryOf(now, now)).toBe("expired");
    expect(expiryOf(now - 1, now)).toBe("expired");
    expect(expiryOf(now + 1, now)).toBe("soon");
    expect(expiryOf(now + 7 * day, now)).toBe("soon");
    expect(expiryOf(now + 7 * day + 1, now)).toBeNull();
    expect(expiryOf(null, now)).toBeNull();
  });
});
