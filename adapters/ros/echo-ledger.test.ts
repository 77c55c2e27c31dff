import { describe, expect, it } from 'vitest';
import { EchoLedger } from './echo-ledger.ts';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('EchoLedger', () => {
  it("takes the daemon's own message back once, and the same bytes from another node after that", () => {
    const ledger = new EchoLedger();
    ledger.track('/cmd_vel', { latched: false, depth: 1 });
    ledger.sent('/cmd_vel', bytes(0, 1, 0, 0, 7));
    expect(ledger.isEcho('/cmd_vel', bytes(0, 1, 0, 0, 8))).toBe(false);
    expect(ledger.isEcho('/cmd_vel', bytes(0, 1, 0, 0, 7))).toBe(true);
    expect(ledger.isEcho('/cmd_vel', bytes(0, 1, 0, 0, 7))).toBe(false);
  });

  it('counts each publication: two sends of the same bytes come back twice', () => {
    const ledger = new EchoLedger();
    ledger.track('/t', { latched: false, depth: 1 });
    ledger.sent('/t', bytes(1));
    ledger.sent('/t', bytes(1));
    expect([ledger.isEcho('/t', bytes(1)), ledger.isEcho('/t', bytes(1)), ledger.isEcho('/t', bytes(1))]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it("forgets a volatile topic's note whose copy never came, so it cannot eat a later message of another node", () => {
    let now = 0;
    const ledger = new EchoLedger({ volatileMs: 100, now: () => now });
    ledger.track('/t', { latched: false, depth: 1 });
    ledger.sent('/t', bytes(3));
    now = 101;
    expect(ledger.isEcho('/t', bytes(3))).toBe(false);
  });

  it("keeps a transient_local topic's notes however long, since a late subscription is handed the cached samples", () => {
    let now = 0;
    const ledger = new EchoLedger({ volatileMs: 100, now: () => now });
    ledger.track('/map', { latched: true, depth: 1 });
    ledger.sent('/map', bytes(9));
    now = 60_000;
    expect(ledger.isEcho('/map', bytes(9))).toBe(true);
  });

  it('keeps the newest notes up to its capacity, and none for an untracked topic', () => {
    const ledger = new EchoLedger({ capacity: 2 });
    ledger.track('/t', { latched: false, depth: 1 });
    for (const b of [1, 2, 3]) ledger.sent('/t', bytes(b));
    expect([1, 2, 3].map((b) => ledger.isEcho('/t', bytes(b)))).toEqual([false, true, true]);
    ledger.sent('/other', bytes(1));
    expect(ledger.isEcho('/other', bytes(1))).toBe(false);
  });
});
