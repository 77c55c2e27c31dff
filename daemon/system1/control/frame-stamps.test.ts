import { describe, expect, it } from 'vitest';
import { ImageError } from '../vision/image-error.ts';
import { FrameStamps } from './frame-stamps.ts';

const NOW = 1_795_000_000_000_000_000n; // ns, in 2026
const S = 1_000_000_000n;
const stamped = (ns: bigint) => ({ header: { stamp: { sec: Number(ns / S), nanosec: Number(ns % S) } } });
const stamps = () => new FrameStamps({ maxAheadMs: 1000 });

/** Judges a frame as FrameFeed does, and takes it if it is not refused: its code, or 'taken'. */
const offer = (s: FrameStamps, message: unknown, now = NOW) => {
  try {
    s.taken(s.judge(message, 0, now).stampNs);
    return 'taken';
  } catch (error) {
    return error instanceof ImageError ? error.code : 'other';
  }
};

describe("a camera frame's age from its header.stamp", () => {
  it("is the stamp's age on the daemon's clock, never less than since its arrival", () => {
    const s = stamps();
    expect(s.judge(stamped(NOW - 1_500_000_000n), 2, NOW).ageMs).toBe(1500);
    // A stamp a little ahead of the daemon's clock (a camera's clock a little fast) says nothing: the arrival counts.
    expect(s.judge(stamped(NOW + 3_000_000n), 2, NOW).ageMs).toBe(2);
  });

  it('counts from the arrival where the stamp is on another clock (sim time) or not set', () => {
    const s = stamps();
    expect(s.judge(stamped(12_500_000_000n), 3, NOW).ageMs).toBe(3);
    expect(s.judge(stamped(0n), 4, NOW).ageMs).toBe(4);
    expect(s.judge({ format: 'jpeg' }, 5, NOW).ageMs).toBe(5);
  });

  it('refuses a frame not stamped after the last one taken: a repeat or a replay', () => {
    const s = stamps();
    expect(offer(s, stamped(12_500_000_000n))).toBe('taken');
    expect(offer(s, stamped(12_500_000_000n))).toBe('stale_stamp');
    expect(offer(s, stamped(11_000_000_000n))).toBe('stale_stamp');
    expect(() => s.judge(stamped(11_000_000_000n), 0, NOW)).toThrow(
      /header.stamp 11.000 s is not after the last frame's \(12.500 s\): a repeated or replayed frame/,
    );
    expect(offer(s, stamped(12_600_000_000n))).toBe('taken');
    // The same frame over and over never reads as a clock gone back.
    for (let i = 0; i < 10; i++) expect(offer(s, stamped(12_600_000_000n))).toBe('stale_stamp');
  });

  it.each([
    ['10 years', NOW + 10n * 365n * 86_400n * S],
    ['23 hours', NOW + 23n * 3600n * S],
    ['60 s', NOW + 60n * S],
    ['sec 2^31-1', (2n ** 31n - 1n) * S],
  ])('refuses a frame stamped %s ahead of the daemon clock, and it never becomes the bar', (_what, ahead) => {
    const s = stamps();
    expect(offer(s, stamped(NOW - S))).toBe('taken');
    expect(offer(s, stamped(ahead))).toBe('bad_stamp');
    expect(() => s.judge(stamped(ahead), 0, NOW)).toThrow(/ahead of the daemon's clock \(max_stamp_ahead_ms 1000\)/);
    expect(offer(s, stamped(NOW))).toBe('taken');
  });

  it('refuses a stamp that is not a time (nanosec 4294967295, a negative sec)', () => {
    const s = stamps();
    const bad = { header: { stamp: { sec: Number(NOW / S), nanosec: 4_294_967_295 } } };
    expect(offer(s, bad)).toBe('bad_stamp');
    expect(offer(s, { header: { stamp: { sec: -5, nanosec: 0 } } })).toBe('bad_stamp');
    expect(offer(s, stamped(NOW))).toBe('taken');
  });

  it('sets the bar only for a frame taken: a frame judged and then refused (its decode failed) does not hold the camera', () => {
    const s = stamps();
    // Within the window, and not taken.
    expect(s.judge(stamped(NOW + 900_000_000n), 0, NOW).stampNs).toBe(NOW + 900_000_000n);
    expect(offer(s, stamped(NOW))).toBe('taken');
  });

  it.each([
    ['a sim clock reset from 1000 s to 5 s', 1000n * S, 5n * S],
    ["the daemon's clock stepped back an hour by NTP", NOW, NOW - 3600n * S],
  ])('goes on by itself after %s: three frames stamped forward from the new time', (_what, before, after) => {
    const s = stamps();
    for (let i = 0n; i < 5n; i++) expect(offer(s, stamped(before + i * 33_000_000n))).toBe('taken');
    const now = after > NOW - 86_400n * S ? after : NOW; // the daemon's clock stepped with the camera's
    expect(offer(s, stamped(after), now)).toBe('stale_stamp');
    expect(offer(s, stamped(after + 33_000_000n), now)).toBe('stale_stamp');
    expect(offer(s, stamped(after + 66_000_000n), now)).toBe('taken');
    expect(offer(s, stamped(after + 99_000_000n), now)).toBe('taken');
    expect(offer(s, stamped(after + 99_000_000n), now)).toBe('stale_stamp');
  });
});
