// isolated: fakes the wall clock (vitest.config.ts)
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nowNs, nsFromJson, nsToJson } from './time.ts';

describe('nowNs', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is the wall clock in ns and never goes backwards between re-syncs', () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    let last = nowNs();
    for (let i = 0; i < 10_000; i++) {
      const t = nowNs();
      expect(t >= last).toBe(true);
      last = t;
    }
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    expect(last >= before - 1_000_000n && last <= after).toBe(true);
  });

  it('follows a wall-clock step (NTP, a robot that booted without RTC) within one re-sync interval', () => {
    const hr0 = process.hrtime.bigint() + 10_000_000_000n; // past any re-sync already scheduled
    let hr = hr0;
    let wall = Date.now();
    vi.spyOn(process.hrtime, 'bigint').mockImplementation(() => hr);
    vi.spyOn(Date, 'now').mockImplementation(() => wall);
    const first = nowNs(); // re-syncs: hr0 is past the due time
    expect(first / 1_000_000n).toBe(BigInt(wall));

    wall += 3_600_000; // the wall clock jumps an hour ahead
    hr += 500_000_000n; // half a second later on the monotonic clock
    expect(nowNs() - first).toBe(500_000_000n); // not re-synced yet: monotonic

    hr += 500_000_000n; // one second after the last re-sync
    expect(nowNs() / 1_000_000n).toBe(BigInt(wall)); // re-synced to the stepped wall clock

    wall -= 7_200_000; // and back, two hours behind
    hr += 1_000_000_000n;
    expect(nowNs() / 1_000_000n).toBe(BigInt(wall));
  });
});

describe('ns in JSON', () => {
  it('round-trips as a decimal string and rejects anything else', () => {
    expect(nsFromJson(nsToJson(1_763_000_000_123_456_789n))).toBe(1_763_000_000_123_456_789n);
    expect(() => nsFromJson('1.5e9')).toThrow(/decimal ns timestamp/);
  });
});
