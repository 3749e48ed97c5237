// Background work (upstreams connecting, log lines written after the
// response) is awaited by polling a condition, never by a fixed sleep, and
// never without a deadline: a condition that never holds fails the test
// with what it waited for.

/** Polls `check` every 20 ms until it holds; throws after `timeoutMs`, with `explain()` when given. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  explain?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${explain?.() ?? check.toString()}`);
    }
    await Bun.sleep(20);
  }
}
