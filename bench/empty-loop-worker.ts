// The control-loop bench's platform floor: a thread that only sleeps until each tick and wakes, under the
// same scheduling and CPUs as the loop it runs beside (applied by the same code as the loop's).
import { parentPort, workerData } from 'node:worker_threads';
import { applyThreadScheduling, type SchedulingRequest } from '../daemon/util/thread-scheduling.ts';

const { seconds, rateHz, scheduling } = workerData as {
  seconds: number;
  rateHz: number;
  scheduling: SchedulingRequest;
};
const applied = applyThreadScheduling(scheduling);
const period = 1000 / rateHz;
const flag = new Int32Array(new SharedArrayBuffer(4));
const jitter: number[] = [];
let missed = 0;
let scheduled = performance.now() + period;
const end = performance.now() + seconds * 1000;
while (scheduled < end) {
  const wait = scheduled - performance.now();
  if (wait > 0) Atomics.wait(flag, 0, 0, wait);
  const woke = performance.now();
  jitter.push(Math.abs(woke - scheduled) * 1000);
  if (woke > scheduled + period) missed++;
  scheduled += period;
  const behind = Math.floor((performance.now() - scheduled) / period);
  if (behind > 0) {
    missed += behind;
    scheduled += behind * period;
  }
}
parentPort!.postMessage({ missed, jitter, scheduling: applied.summary });
