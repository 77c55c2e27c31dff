import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { claimHalt, haltClaimsBuffer } from './halt-claims.ts';

describe("claims of central's stops between the link and the stop connection", () => {
  it('gives each counter to the first path that claims it, and each new counter again', () => {
    const claims = haltClaimsBuffer();
    const counter = '1764212345678901';
    expect(claimHalt(claims, counter)).toBe(true);
    expect(claimHalt(claims, counter)).toBe(false);
    expect(claimHalt(claims, '1764212345678902')).toBe(true);
    expect(claimHalt(claims, counter)).toBe(false); // another slot: still claimed
  });

  it('gives a counter to one of two threads that claim it at once', async () => {
    const claims = haltClaimsBuffer();
    const counters = Array.from({ length: 200 }, (_, i) => String(1_764_212_345_678_901n + BigInt(i)));
    // The other thread claims the same counters in the same order from shared memory alone, as the stop thread does.
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      const slots = new BigInt64Array(workerData.claims);
      const won = workerData.counters.map((c) => {
        const value = BigInt(c), slot = Number(value % BigInt(slots.length));
        for (;;) {
          const seen = Atomics.load(slots, slot);
          if (seen === value) return false;
          if (Atomics.compareExchange(slots, slot, seen, value) === seen) return true;
        }
      });
      parentPort.postMessage(won);`;
    const worker = new Worker(code, { eval: true, workerData: { claims, counters } });
    const theirs = new Promise<boolean[]>((resolve) => worker.once('message', resolve));
    const ours = counters.map((c) => claimHalt(claims, c));
    const won = await theirs;
    await worker.terminate();
    expect(counters.map((_, i) => Number(ours[i]) + Number(won[i]))).toEqual(counters.map(() => 1));
  });
});
