import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError, unlessAborted, withTimeout, within } from './timeout.ts';
import { tick } from '../../test/helpers/wait.ts';

const never = new Promise<never>(() => {});

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('withTimeout', () => {
  it("is the work's value when it ends in time, and leaves no timer behind", async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, 'the answer')).resolves.toBe(7);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("passes the work's own failure through, and leaves no timer behind", async () => {
    await expect(withTimeout(Promise.reject(new Error('disk full')), 1000, 'the write')).rejects.toThrow('disk full');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fails with a TimeoutError of the message once the time is up', async () => {
    const waited = withTimeout(never, 250, 'no PUBACK within 0.25 s');
    const caught = waited.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(249);
    await vi.advanceTimersByTimeAsync(1);
    const error = await caught;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ name: 'TimeoutError', message: 'no PUBACK within 0.25 s' });
  });

  it("fails with the message function's error, which the caller picks", async () => {
    class QueryTimeout extends Error {}
    const caught = withTimeout(never, 10, () => new QueryTimeout('query q got no reply within 10 ms')).catch(
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(10);
    expect(await caught).toBeInstanceOf(QueryTimeout);
  });

  it('aborts the signal it gave the work after failing, so work that answers its abort at once does not win', async () => {
    let given: AbortSignal | undefined;
    const caught = withTimeout(
      (signal) => {
        given = signal;
        return new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve('answered the abort')));
      },
      50,
      'the handler',
    ).catch((error: unknown) => error);
    expect(given?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    expect(given?.aborted).toBe(true);
    expect(await caught).toBeInstanceOf(TimeoutError);
  });

  it("ends at the caller's signal with its reason, and gives the work that signal too", async () => {
    const stop = new AbortController();
    let given: AbortSignal | undefined;
    const caught = withTimeout(
      (signal) => {
        given = signal;
        return never;
      },
      60_000,
      'the open',
      { signal: stop.signal },
    ).catch((error: unknown) => error);
    const reason = new Error('stopping');
    stop.abort(reason);
    expect(await caught).toBe(reason);
    expect(given?.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fails at once on a signal already aborted', async () => {
    const reason = new Error('stopped before');
    await expect(withTimeout(never, 1000, 'the open', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('leaves no unhandled rejection when the work throws at once on a signal already aborted', async () => {
    vi.useRealTimers();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const opening = withTimeout(
        () => {
          throw new Error('no socket');
        },
        1000,
        'the open',
        { signal: AbortSignal.abort(new Error('stopped before')) },
      );
      await expect(opening).rejects.toThrow('no socket');
      // Node says a rejection was unhandled once the microtasks have run.
      await tick();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('leaves no unhandled rejection when the work fails after the time is up', async () => {
    vi.useRealTimers();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // Work that fails when the test says, after its time is up.
      const failures: (() => void)[] = [];
      const failsLate = () =>
        new Promise<never>((_, reject) => void failures.push(() => reject(new Error('disk gone'))));
      await expect(withTimeout(failsLate(), 1, 'the write')).rejects.toBeInstanceOf(TimeoutError);
      await expect(within(failsLate(), 1, 'late')).resolves.toBe('late');
      for (const fail of failures) fail();
      await tick();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('keeps the process up while it waits, unless asked not to', async () => {
    vi.useRealTimers();
    const refs: boolean[] = [];
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    await withTimeout(Promise.resolve(), 1000, 'held');
    await withTimeout(Promise.resolve(), 1000, 'not held', { unref: true });
    for (const result of setTimeoutSpy.mock.results) refs.push((result.value as NodeJS.Timeout).hasRef());
    setTimeoutSpy.mockRestore();
    expect(refs).toEqual([true, false]);
  });
});

describe('within', () => {
  it("is the work's value when it ends in time", async () => {
    await expect(within(Promise.resolve('zeroed'), 100, 'late')).resolves.toBe('zeroed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is the late value once the time is up, undefined when none is given', async () => {
    const late = within(never, 100, 'late' as const);
    const none = within(never, 100);
    await vi.advanceTimersByTimeAsync(100);
    await expect(late).resolves.toBe('late');
    await expect(none).resolves.toBeUndefined();
  });

  it("is the late value at the caller's signal", async () => {
    const stop = new AbortController();
    const waited = within(never, 60_000, 'stopped', { signal: stop.signal });
    stop.abort();
    await expect(waited).resolves.toBe('stopped');
  });

  it("passes the work's own failure through", async () => {
    await expect(within(Promise.reject(new Error('refused')), 100, 'late')).rejects.toThrow('refused');
  });
});

describe('unlessAborted', () => {
  it("is the work's outcome when it ends first, and stops listening to the signal", async () => {
    const stop = new AbortController();
    const removed = vi.spyOn(stop.signal, 'removeEventListener');
    await expect(unlessAborted(Promise.resolve('result'), stop.signal)).resolves.toBe('result');
    await expect(unlessAborted(Promise.reject(new Error('refused')), stop.signal)).rejects.toThrow('refused');
    expect(removed).toHaveBeenCalledTimes(2);
  });

  it("fails with the signal's reason when it aborts first, however long the work would take", async () => {
    const stop = new AbortController();
    const caught = unlessAborted(never, stop.signal).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(3_600_000);
    const reason = new Error('the server left the graph');
    stop.abort(reason);
    expect(await caught).toBe(reason);
  });

  it('fails at once on a signal already aborted', async () => {
    const reason = new Error('gone before');
    await expect(unlessAborted(never, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('starts work given as a function after it listens, so work that answers the abort at once does not win', async () => {
    const stop = new AbortController();
    const caught = unlessAborted(
      () => new Promise<string>((resolve) => stop.signal.addEventListener('abort', () => resolve('answered'))),
      stop.signal,
    ).catch((error: unknown) => error);
    const reason = new Error('stopping');
    stop.abort(reason);
    expect(await caught).toBe(reason);
  });
});
