/**
 * Polls `predicate` until it holds; fails naming `what` after `timeoutMs`. Tests wait on state, never on time:
 * the default is generous, since on a loaded CI machine (two cores, daemons and brokers beside this test) what
 * takes milliseconds here can take seconds. A test that passes only waits as long as it takes.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  await waitForValue(async () => (await predicate()) || undefined, what, timeoutMs);
}

/** As waitFor, for a value: polls `get` until it gives one (not undefined or false), and returns it. */
export async function waitForValue<T>(
  get: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs; // monotonic: tests that step Date.now use it too
  for (;;) {
    const value = await get();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    // eslint-disable-next-line tests/no-fixed-wait -- the poll's interval: this is where a test waits on state
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Sends `probe` until `arrived` holds, again every `everyMs` while it does not: a volatile topic delivers only to the
 * subscriptions matched when a message is sent, and discovery has no end to wait for, so a test sends probes until one
 * gets through, then its real messages. Fails naming `what` after `timeoutMs`.
 */
export async function sendUntil(
  probe: () => unknown,
  arrived: () => boolean,
  what: string,
  { everyMs = 250, timeoutMs = 60_000 }: { everyMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  let sentAt = Number.NEGATIVE_INFINITY;
  await waitFor(
    async () => {
      if (arrived()) return true;
      if (performance.now() - sentAt >= everyMs) {
        sentAt = performance.now();
        await probe();
      }
      return arrived();
    },
    what,
    timeoutMs,
  );
}

/**
 * One turn of the event loop, timers included: what the code under test queued before it (promise
 * continuations, immediates, I/O callbacks that were ready, a 0 ms timer) has run.
 */
export function tick(): Promise<void> {
  // eslint-disable-next-line tests/no-fixed-wait -- a 0 ms timer is one turn of the event loop, not a duration
  return new Promise((resolve) => setTimeout(resolve, 0));
}
