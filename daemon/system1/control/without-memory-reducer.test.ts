import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { withoutMemoryReducer } from './without-memory-reducer.ts';

// A thread as a loop thread starts: its heap grows to tens of MB, one forced full GC, then it ticks at
// 200 Hz allocating a few bytes a tick. It counts the major GCs it did not ask for: with so little
// allocated, V8's memory reducer is their only source. Asked, it says how many it has seen.
const THREAD = `
const { parentPort } = require('node:worker_threads');
const { setFlagsFromString } = require('node:v8');
const { runInNewContext } = require('node:vm');
const { PerformanceObserver, constants } = require('node:perf_hooks');
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc');
const kept = [];
for (let i = 0; i < 300000; i++) kept.push({ i, name: 'item ' + i });
collect();
let unasked = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR && !(e.detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED)) {
      unasked++;
      parentPort.postMessage({ unasked, kept: kept.length });
    }
}).observe({ entryTypes: ['gc'] });
let tick;
setInterval(() => { tick = new Float32Array(18).slice(); }, 5);
parentPort.on('message', () => parentPort.postMessage({ unasked, kept: kept.length }));
parentPort.postMessage({ started: true });
`;

const start = (): Worker => new Worker(THREAD, { eval: true });
const next = (worker: Worker): Promise<{ unasked: number }> =>
  new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });

describe('withoutMemoryReducer', () => {
  // V8's memory reducer first looks 8 s after a heap grew: the plain threads get their GC in about 8 s.
  it("keeps the memory reducer's full GCs out of the thread it starts, and leaves it on for threads started after it", async () => {
    // One at a time: a heap set up while the flag is off has no reducer, whichever thread it is.
    const started: Worker[] = [];
    const begin = async (spawn: () => Worker): Promise<Worker> => {
      const worker = spawn();
      started.push(worker);
      await next(worker);
      return worker;
    };
    try {
      const plain = await begin(start);
      const guarded = await begin(() => withoutMemoryReducer(start));
      const later = await begin(start);
      // The plain threads show that the reducer runs here: each gets a full GC it did not ask for.
      const [plainSaw, laterSaw] = await Promise.all([next(plain), next(later)]);
      expect(plainSaw.unasked).toBeGreaterThan(0);
      expect(laterSaw.unasked).toBeGreaterThan(0);
      guarded.postMessage('count');
      expect((await next(guarded)).unasked).toBe(0);
    } finally {
      await Promise.all(started.map((w) => w.terminate()));
    }
  }, 60_000);
});
