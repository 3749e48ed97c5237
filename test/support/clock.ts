import { setSystemTime } from "bun:test";

// The app reads the wall clock (createTestApp's default `now`), so a test
// moves both with setSystemTime, and puts it back with setSystemTime().

/** The wall clock in unix seconds, as the app's `now` reads it. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Moves the clock, the app's too, `seconds` past now. */
export function advanceClock(seconds: number): void {
  setSystemTime(new Date(Date.now() + seconds * 1000));
}
