import type { HeapInfo } from 'node:v8';
import type { Worker } from 'node:worker_threads';
import { spawnTsWorker, workerEntry } from '../../util/index.ts';
import type { LoopWorkerData, LoopWorkerMessage } from './loop-protocol.ts';
import { withoutMemoryReducer } from './without-memory-reducer.ts';

/** What ControlLoop needs of its loop's worker thread, or of its LoopProcess (isolation: process), acting as one. */
export interface LoopRunner {
  on(event: 'message', listener: (m: LoopWorkerMessage) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<unknown>;
  unref(): void;
  /** A worker thread's heap, in its own isolate (a LoopProcess has none here). */
  getHeapStatistics?(): Promise<HeapInfo>;
}

/** Starts a loop's thread (isolation: thread) on the daemon's shared buffers; an async loop's port is transferred. */
export function spawnLoopThread(data: LoopWorkerData): Worker {
  return withoutMemoryReducer(() =>
    spawnTsWorker(workerEntry('daemon/system1/control/loop-worker'), {
      workerData: { ...data },
      transferList: data.inference ? [data.inference] : [],
    }),
  );
}
