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
