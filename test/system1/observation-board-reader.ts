// A loop thread's side of the observation board, for observation-board.test.ts. `uniform`: `reads` reads of
// slot 0, counting copies whose elements differ (a torn copy: two writes mixed). `once`: one read, with the
// thread's CPU time and the wall time it took.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { ObservationBoard } from '../../daemon/system1/control/observation-board.ts';

const { buffer, lengths, mode, reads } = workerData as {
  buffer: SharedArrayBuffer;
  lengths: number[];
  mode: 'uniform' | 'once';
  reads: number;
};
const board = new ObservationBoard({ lengths }, buffer);
const out = new Float32Array(lengths[0]!);

/** This thread's CPU time (user + system), in ms: utime and stime of /proc/thread-self/stat, in USER_HZ (100) ticks. */
function threadCpuMs(): number {
  const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

if (mode === 'uniform') {
  let torn = 0;
  for (let i = 0; i < reads; i++) {
    board.read(0, out, 0);
    if (out.some((v) => v !== out[0])) torn++;
  }
  parentPort!.postMessage({ torn, reads });
} else {
  const cpu = threadCpuMs();
  const wall = performance.now();
  const time = board.read(0, out, 0);
  parentPort!.postMessage({
    values: Array.from(out),
    time,
    cpuMs: threadCpuMs() - cpu,
    wallMs: performance.now() - wall,
  });
}
