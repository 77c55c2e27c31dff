import { setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';

let starting = 0;

/**
 * Starts a worker whose heap has no memory reducer: V8's task that, some 8 to 20 s after a heap grew, runs
 * full mark-compacts to give memory back. In a loop thread each was one atomic pause of 13 to 19 ms (its
 * heap holds about 25 MB of modules), run from the thread's event loop between a tick's `session.run` and
 * its result, so the tick missed its deadline (seen with --trace-gc: "Mark-Compact (reduce) ... finalize
 * incremental marking via task"). The thread keeps the heap it grew to instead. V8 reads the flag once, when
 * an isolate's heap is set up, so it is off only while the worker starts and back on once its code runs
 * ('online'): a thread whose heap is set up in that window (say, another worker started at once) has none
 * either, which costs it only the memory it would have given back.
 */
export function withoutMemoryReducer(spawn: () => Worker): Worker {
  if (starting++ === 0) setFlagsFromString('--no-memory-reducer');
  let worker: Worker;
  try {
    worker = spawn();
  } catch (error) {
    restore();
    throw error;
  }
  let restored = false;
  const once = (): void => {
    if (restored) return;
    restored = true;
    restore();
  };
  worker.once('online', once);
  worker.once('error', once);
  worker.once('exit', once);
  return worker;
}

function restore(): void {
  if (--starting === 0) setFlagsFromString('--memory-reducer');
}
