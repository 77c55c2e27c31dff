import { Worker, type WorkerOptions } from 'node:worker_threads';

// Node 20 ignores `--import tsx` in a worker's execArgv, so a worker registers tsx's loader itself before
// importing its TypeScript entry. The loader is resolved here, so the worker finds it from any cwd.
const TSX_API = import.meta.resolve('tsx/esm/api');

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.__tsx).then((tsx) => { tsx.register(); return import(workerData.__entry); });
`;

/**
 * Starts a worker thread running the TypeScript module at `entry` (a file: URL). `workerData` reaches the
 * module as usual; the two keys the bootstrap needs are added beside it.
 */
export function spawnTsWorker(entry: URL, options: WorkerOptions & { workerData?: Record<string, unknown> } = {}): Worker {
  const { workerData = {}, ...rest } = options;
  return new Worker(BOOTSTRAP, { ...rest, eval: true, workerData: { ...workerData, __tsx: TSX_API, __entry: entry.href } });
}

/**
 * Ends a thread that may be inside onnxruntime's session.run, which computes on the calling thread and
 * can't be interrupted. `worker.terminate()` there aborts the whole process: when the run returns into the
 * terminating thread, onnxruntime-node throws a C++ exception nothing catches ("terminate called after
 * throwing an instance of 'Napi::Error'"). So the thread is asked to close (`ask`: it lets the run in
 * flight finish, releases its session and exits) and waited for. Resolves true once it exited; false when
 * it had not after `timeoutMs` (Infinity: wait for it): it is then unref'd and left to finish, never killed.
 */
export async function closeWorker(worker: Worker, ask: () => void, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<boolean>((resolve) => {
    worker.once('exit', () => resolve(true));
    if (Number.isFinite(timeoutMs)) timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    ask();
  } catch {
    // Posting to a thread that has just exited throws nothing in Node, but a closed port might: it is gone either way.
  }
  const done = await exited;
  clearTimeout(timer);
  if (!done) worker.unref();
  return done;
}
