import { describe, expect, it } from 'vitest';
import { ImageError } from '../vision/image-error.ts';
import { FrameStamps } from './frame-stamps.ts';

const NOW = 1_795_000_000_000_000_000n; // ns, in 2026
const stamped = (ns: bigint) => ({
  header: { stamp: { sec: Number(ns / 1_000_000_000n), nanosec: Number(ns % 1_000_000_000n) } },
});
const codeOf = (f: () => unknown) => {
  try {
    f();
    return 'taken';
  } catch (error) {
    return error instanceof ImageError ? error.code : 'other';
  }
};

describe("a camera frame's age from its header.stamp", () => {
  it("is the stamp's age on the daemon's clock, never less than since its arrival", () => {
    const stamps = new FrameStamps();
    expect(stamps.ageMs(stamped(NOW - 1_500_000_000n), 2, NOW)).toBe(1500);
    // A stamp ahead of the daemon's clock (a camera's clock a little fast) says nothing: the arrival counts.
    expect(stamps.ageMs(stamped(NOW + 3_000_000n), 2, NOW)).toBe(2);
  });

  it('counts from the arrival where the stamp is on another clock (sim time) or not set', () => {
    const stamps = new FrameStamps();
    expect(stamps.ageMs(stamped(12_500_000_000n), 3, NOW)).toBe(3);
    expect(stamps.ageMs(stamped(0n), 4, NOW)).toBe(4);
    expect(stamps.ageMs({ format: 'jpeg' }, 5, NOW)).toBe(5);
  });

  it('refuses a frame not stamped after the last one taken: a repeat or a replay', () => {
    const stamps = new FrameStamps();
    expect(codeOf(() => stamps.ageMs(stamped(12_500_000_000n), 0, NOW))).toBe('taken');
    expect(codeOf(() => stamps.ageMs(stamped(12_500_000_000n), 0, NOW))).toBe('stale_stamp');
    expect(codeOf(() => stamps.ageMs(stamped(11_000_000_000n), 0, NOW))).toBe('stale_stamp');
    expect(() => stamps.ageMs(stamped(11_000_000_000n), 0, NOW)).toThrow(
      /header.stamp 11.000 s is not after the last frame's \(12.500 s\): a repeated or replayed frame/,
    );
    expect(codeOf(() => stamps.ageMs(stamped(12_600_000_000n), 0, NOW))).toBe('taken');
  });
});
