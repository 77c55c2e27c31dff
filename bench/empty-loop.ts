import type { LoopSettings } from '../daemon/config/index.ts';
import { spawnTsWorker, type SchedulingRequest } from '../daemon/util/index.ts';

/** What the empty loop missed and how late it woke (us, sorted), under the scheduling it was given. */
export interface EmptyLoopRun {
  missed: number;
  jitter: number[];
  scheduling: string;
}

/**
 * The platform's floor, run beside a loop: a thread that does nothing but sleep until each tick and wake
 * (Atomics.wait, as the loop sleeps), with the loop's own scheduling and CPUs (bench/empty-loop-worker.ts).
 * Whatever it misses, the VM or the kernel missed (the vCPU was not running when the timer fired): no loop
 * on this machine can do better.
 */
export function emptyLoop(seconds: number, rateHz: number, loop: LoopSettings): Promise<EmptyLoopRun> {
  const scheduling: SchedulingRequest = {
    policy: loop.scheduling,
    rtPriority: loop.rt_priority,
    nice: loop.nice,
    cpus: loop.cpu_affinity,
  };
  const worker = spawnTsWorker(new URL('./empty-loop-worker.ts', import.meta.url), {
    workerData: { seconds, rateHz, scheduling },
  });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: EmptyLoopRun) => {
      void worker.terminate();
      resolve({ missed: m.missed, jitter: m.jitter.sort((a, b) => a - b), scheduling: m.scheduling });
    });
  });
}
