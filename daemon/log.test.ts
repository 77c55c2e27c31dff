import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { rateLimitedErrors } from './util/index.ts';

// rateLimitedErrors on a clock the test steps: lines counted for N events, no timing.

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'error' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { lines, log };
}

describe('rateLimitedErrors', () => {
  it('logs the first few per key at once, then a line per window with the count held back, not one per N', () => {
    const { lines, log } = capture();
    let now = 0;
    const report = rateLimitedErrors(log, { first: 3, intervalMs: 60_000, now: () => now });
    // 1 kHz for 10 s: the count-based limit (one in 1000) logged 10 more lines here, and one a second forever.
    for (let i = 0; i < 10_000; i++, now += 1) report('navigator /odom', { topic: '/odom' }, 'decode failed');
    report('recorder /scan', { topic: '/scan' }, 'decode failed'); // another key is not held back by the first
    expect(lines.filter((l) => l.topic === '/odom').map((l) => l.suppressed ?? null)).toEqual([null, null, null]);
    expect(lines.filter((l) => l.topic === '/scan')).toHaveLength(1);
    // A minute of it: one line, with what was held back (events 4 to 60,002, the 3rd having started the window).
    for (let i = 0; i < 60_000; i++, now += 1) report('navigator /odom', { topic: '/odom' }, 'decode failed');
    const odom = lines.filter((l) => l.topic === '/odom');
    expect(odom).toHaveLength(4);
    expect(odom[3]).toMatchObject({ msg: 'decode failed (repeats held back)', suppressed: 59_999 });
  });

  it('a key that goes quiet gets a summary of what was held back with the next report of any key, then is forgotten', () => {
    const { lines, log } = capture();
    let now = 0;
    const report = rateLimitedErrors(log, { first: 1, intervalMs: 1000, now: () => now });
    for (let i = 0; i < 5; i++) report('a', { key: 'a' }, 'a failed');
    now = 1000;
    report('b', { key: 'b' }, 'b failed');
    expect(lines.map((l) => [l.msg, l.suppressed ?? null])).toEqual([
      ['a failed', null],
      ['a failed (repeats held back)', 4],
      ['b failed', null],
    ]);
    now = 3000;
    report('a', { key: 'a' }, 'a failed'); // forgotten: logged at once, as a new problem
    expect(lines.at(-1)).toEqual(expect.objectContaining({ msg: 'a failed' }));
    expect(lines.at(-1)!.suppressed).toBeUndefined();
  });

  it('bounds the keys a peer can make: past maxKeys new keys share one overflow key until old ones go quiet', () => {
    const { lines, log } = capture();
    let now = 0;
    const report = rateLimitedErrors(log, { first: 1, maxKeys: 256, intervalMs: 60_000, now: () => now });
    // A peer publishing on 100,000 topics of its choosing, each failing a handler: without the bound,
    // 100,000 keys held (and 100,000 lines).
    for (let i = 0; i < 100_000; i++)
      report(`recorder /junk_${i}`, { topic: `/junk_${i}` }, 'subscriber handler failed; message skipped');
    expect(lines).toHaveLength(257);
    expect(lines.filter((l) => l.key_overflow !== undefined)).toHaveLength(1);
    expect(lines.at(-1)).toMatchObject({ topic: '/junk_256', key_overflow: expect.stringContaining('more than 256') });
    // A minute on, the quiet keys are forgotten: a real problem gets its own line at once again.
    now = 60_000;
    report('navigator /odom', { topic: '/odom' }, 'decode failed');
    expect(lines.filter((l) => l.topic === '/odom' && l.key_overflow === undefined)).toHaveLength(1);
  });
});
