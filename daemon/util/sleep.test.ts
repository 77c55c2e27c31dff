import { describe, expect, it } from 'vitest';
// eslint-disable-next-line tests/no-fixed-wait -- the sleep is the module under test: its time is what is checked
import { sleep } from './sleep.ts';

describe('sleep', () => {
  it('is true once the time has passed', async () => {
    const started = performance.now();
    expect(await sleep(20)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
  });

  it('is false as soon as its signal aborts, without waiting out the time', async () => {
    const abort = new AbortController();
    const slept = sleep(60_000, { signal: abort.signal });
    abort.abort(new Error('closing'));
    expect(await slept).toBe(false);
  });

  it('is false at once on a signal already aborted', async () => {
    expect(await sleep(60_000, { signal: AbortSignal.abort() })).toBe(false);
  });

  it("waits a timer past Node's limit as that limit, not as 1 ms", async () => {
    const abort = new AbortController();
    let settled = false;
    void sleep(2 ** 40, { signal: abort.signal }).then(() => (settled = true));
    await sleep(30);
    expect(settled).toBe(false);
    abort.abort();
  });
});
