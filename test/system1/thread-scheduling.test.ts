import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { spawnTsWorker } from '../../daemon/util/index.ts';
import {
  readThreadScheduling,
  type SchedulingRequest,
  type SchedulingResult,
} from '../../daemon/util/thread-scheduling.ts';

const onLinux = process.platform === 'linux';
/** A CPU this process may run on (a container's cpuset need not include CPU 0). */
const firstCpu = (): number => Number.parseInt(readThreadScheduling(process.pid).cpus, 10);

/** Applies `request` in a fresh worker thread (so this thread keeps its scheduling) with `env`. */
function applyInWorker(
  request: SchedulingRequest,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ result: SchedulingResult; worker: Worker }> {
  const worker = spawnTsWorker(new URL('./scheduling-worker.ts', import.meta.url), { env, workerData: { request } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (result: SchedulingResult) => resolve({ result, worker }));
  });
}

async function finish(worker: Worker): Promise<void> {
  const exited = new Promise((r) => worker.once('exit', r));
  worker.postMessage('done');
  await exited;
}

describe.runIf(onLinux)('thread scheduling', () => {
  it("reads a thread's policy and priorities from /proc", () => {
    const tid = process.pid; // the main thread's id is the process id
    const s = readThreadScheduling(tid);
    expect(['other', 'fifo', 'rr']).toContain(s.policy);
    expect(Number.isInteger(s.nice)).toBe(true);
    if (s.policy === 'other') expect(s.rtPriority).toBe(0);
  });

  it('puts only the calling thread under SCHED_FIFO, or says why not and falls back to nice', async () => {
    const before = readThreadScheduling(process.pid);
    const { result, worker } = await applyInWorker({ policy: 'fifo', rtPriority: 7, nice: 5 });
    try {
      expect(result.tid).not.toBe(process.pid);
      const seen = readThreadScheduling(result.tid); // what the kernel says, from outside the thread
      expect(seen.policy).toBe(result.policy);
      if (result.summary.includes('refused')) {
        // Not permitted here (no CAP_SYS_NICE): the fallback niceness, and what to grant.
        expect(result.summary).toMatch(/CAP_SYS_NICE/);
        expect(seen.policy).toBe('other');
      } else {
        expect(result.summary).toBe('SCHED_FIFO 7');
        expect(seen).toMatchObject({ policy: 'fifo', rtPriority: 7 });
      }
      expect(readThreadScheduling(process.pid)).toEqual(before); // the rest of the process is untouched
    } finally {
      await finish(worker);
    }
  });

  it('without chrt, says so and applies the niceness instead', async () => {
    const { result, worker } = await applyInWorker(
      { policy: 'rr', rtPriority: 20, nice: 3 },
      { ...process.env, PATH: '/nonexistent' },
    );
    try {
      expect(result.summary).toMatch(
        /^SCHED_OTHER nice 3 \(SCHED_RR 20 refused: chrt not found \(install util-linux\); give the daemon CAP_SYS_NICE or LimitRTPRIO=20/,
      );
      expect(readThreadScheduling(result.tid)).toMatchObject({ policy: 'other', nice: 3 });
    } finally {
      await finish(worker);
    }
  });

  it('under scheduling: other, sets the niceness alone', async () => {
    const { result, worker } = await applyInWorker({ policy: 'other', rtPriority: 50, nice: 4 });
    try {
      expect(result.summary).toBe('SCHED_OTHER nice 4');
      expect(readThreadScheduling(result.tid)).toMatchObject({ policy: 'other', nice: 4 });
    } finally {
      await finish(worker);
    }
  });

  it('pins the thread alone to the CPUs asked for, and says when a CPU does not exist', async () => {
    const cpu = firstCpu();
    const { result, worker } = await applyInWorker({ policy: 'other', rtPriority: 50, nice: 0, cpus: [cpu] });
    try {
      expect(result.summary).toBe(`SCHED_OTHER nice 0 on CPU ${cpu}`);
      expect(readThreadScheduling(result.tid).cpus).toBe(String(cpu));
      expect(readThreadScheduling(process.pid).cpus).not.toBe(''); // this thread keeps its own
    } finally {
      await finish(worker);
    }
    const bad = await applyInWorker({ policy: 'other', rtPriority: 50, nice: 0, cpus: [1023] });
    try {
      expect(bad.result.summary).toMatch(/^SCHED_OTHER nice 0 on CPU \S+ \(cpu_affinity 1023 refused: /);
      expect(readThreadScheduling(bad.result.tid).cpus).toBe(readThreadScheduling(process.pid).cpus);
    } finally {
      await finish(bad.worker);
    }
  });
});
