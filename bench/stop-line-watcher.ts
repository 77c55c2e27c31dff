// A thread for stop-under-load.bench.ts: sleeps on the daemon's stop line and notes when each stop reached it (ns of
// CLOCK_MONOTONIC, process.hrtime's clock in every process of the machine), as a control loop's thread would see it:
// with a control loop's default scheduling (SCHED_FIFO 50, else nice -10, as the loop falls back).
// workerData: { line: the line's buffer, out: a BigInt64Array's buffer, [0] the count, then the times }.
import { workerData } from 'node:worker_threads';
import { HaltLine } from '../daemon/halt/index.ts';
import { applyThreadScheduling } from '../daemon/util/index.ts';

applyThreadScheduling({ policy: 'fifo', rtPriority: 50, nice: -10 });

const { line: buffer, out: outBuffer } = workerData as { line: SharedArrayBuffer; out: SharedArrayBuffer };
const line = new HaltLine(buffer);
const out = new BigInt64Array(outBuffer);
let seen = line.stops;
for (;;) {
  line.waitForHalt(seen, 60_000);
  const now = process.hrtime.bigint();
  for (const stops = line.stops; seen < stops; seen++) {
    const i = Number(Atomics.add(out, 0, 1n));
    if (i + 1 < out.length) Atomics.store(out, i + 1, now);
  }
}
