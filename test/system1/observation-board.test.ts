import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ObservationBoard } from '../../daemon/system1/control/observation-board.ts';
import { spawnTsWorker } from '../../daemon/util/index.ts';

// The board is a seqlock between the main thread (the writer) and a loop thread (the reader). The reader
// runs at SCHED_FIFO by default, so it must never spin on a write in progress: when it preempted the writer
// on the writer's own CPU, the writer could not finish until the kernel throttled the real-time thread
// (0.95 s of each second by default, never with sched_rt_runtime_us = -1).

const READER = new URL('./observation-board-reader.ts', import.meta.url);

const workers: Worker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.terminate();
});

function reader(buffer: SharedArrayBuffer, lengths: number[], mode: 'uniform' | 'once', reads = 0): Worker {
  const w = spawnTsWorker(READER, { workerData: { buffer, lengths, mode, reads } });
  workers.push(w);
  return w;
}

function reply<T>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

describe('ObservationBoard', () => {
  it('never gives the reader a copy that mixes two writes', async () => {
    const board = new ObservationBoard({ lengths: [256] });
    const r = reader(board.buffer as SharedArrayBuffer, [256], 'uniform', 20_000);
    const done = reply<{ torn: number; reads: number }>(r);
    const values = new Float32Array(256);
    let finished = false;
    void done.then(() => (finished = true));
    // Writes of all-k slots, as fast as the main thread can, until the reader has made its reads.
    for (let k = 1; !finished; k++) {
      values.fill(k);
      board.write(0, values, k);
      if (k % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await done).toEqual({ torn: 0, reads: 20_000 });
  });

  it(
    'sleeps, not spins, while a write is in progress, and reads the write once it is done',
    { timeout: 30_000 },
    async () => {
      const board = new ObservationBoard({ lengths: [4] });
      board.write(0, Float32Array.from([1, 1, 1, 1]), 1);
      // A writer stopped in the middle of a write (preempted by the loop thread on its CPU): the sequence is odd.
      const seq = new Int32Array(board.buffer, 0, 2);
      Atomics.add(seq, 0, 1);
      const r = reader(board.buffer as SharedArrayBuffer, [4], 'once');
      const done = reply<{ values: number[]; time: number; cpuMs: number; wallMs: number }>(r);
      // The reader's wait on a torn write is what is measured (CPU against wall time).
      // eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // The writer finishes its write (the board's layout for one slot: seq and writes, its time, its values).
      new Float32Array(board.buffer, 16, 4).set([2, 2, 2, 2]);
      new Float64Array(board.buffer, 8, 1)[0] = 2;
      Atomics.add(seq, 0, 1);
      const got = await done;
      expect(got.values).toEqual([2, 2, 2, 2]);
      expect(got.time).toBe(2);
      // A spinning reader burns its whole wait on the CPU; a sleeping one a small part of it.
      expect(got.cpuMs / got.wallMs).toBeLessThan(0.5);
    },
  );
});
