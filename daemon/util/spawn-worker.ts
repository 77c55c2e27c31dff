import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { PACKAGE_ROOT } from './package-root.ts';

// Node 20 ignores `--import tsx` in a worker's execArgv, so a worker registers tsx's loader itself before
// loading its TypeScript entry. It registers tsx's require hook (tsx/cjs/api), which compiles in the thread,
// and loads the entry as CommonJS: so an entry must not use top-level await or import.meta. Not tsx's ESM
// loader: on Node 20, module.register() in a worker starts a hooks thread whose port the main thread keeps
// after the worker exits (one MessagePort, its listeners and ~0.5 MB of RSS per worker, never freed), and a
// daemon starts a worker per run_policy call and per loop restart, for months. Resolved at the first TypeScript
// worker, not when daemon/util loads: every command imports this folder.
let tsxCjsApi: string | undefined;

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
require(workerData.__tsx).register();
require(workerData.__entry);
`;

/** True when this code runs compiled from dist/ (bin/build.js), false from its TypeScript sources. */
const COMPILED = !import.meta.url.endsWith('.ts');

/**
 * The URL of a worker module, given by its source path from the package root without extension
 * (`daemon/system1/control/loop-worker`): the .ts source, or its build in dist/ (bin/build.js's WORKERS)
 * when this code runs compiled. Not relative to the caller: compiled, the caller is a shared chunk.
 */
export function workerEntry(path: string): URL {
  return pathToFileURL(COMPILED ? join(PACKAGE_ROOT, 'dist', `${path}.js`) : join(PACKAGE_ROOT, `${path}.ts`));
}

/**
 * Starts a worker thread running the module at `entry` (a file: URL): compiled JavaScript as it is, TypeScript
 * through tsx. `workerData` reaches the module as usual; the bootstrap's keys (`__tsx`, `__entry`, and
 * `__url`, the entry's URL) are added beside it.
 */
export function spawnTsWorker(
  entry: URL,
  options: WorkerOptions & { workerData?: Record<string, unknown> } = {},
): Worker {
  const { workerData = {}, ...rest } = options;
  if (!entry.pathname.endsWith('.ts'))
    return new Worker(entry, { ...rest, workerData: { ...workerData, __url: entry.href } });
  // __url keeps the entry's query string, which a module loaded as CommonJS has no import.meta to read.
  return new Worker(BOOTSTRAP, {
    ...rest,
    eval: true,
    workerData: {
      ...workerData,
      __tsx: (tsxCjsApi ??= createRequire(import.meta.url).resolve('tsx/cjs/api')),
      __entry: fileURLToPath(entry),
      __url: entry.href,
    },
  });
}

/**
 * Ends a thread that may be inside onnxruntime's session.run, which computes on the calling thread and
 * can't be interrupted. `worker.terminate()` there aborts the whole process: when the run returns into the
 * terminating thread, onnxruntime-node throws a C++ exception nothing catches ("terminate called after
 * throwing an instance of 'Napi::Error'"). So the thread is asked to close (`ask`: it lets the run in
 * flight finish, releases its session and exits) and waited for. Resolves true once it exited; false when
 * it had not after `timeoutMs` (Infinity: wait for it): it is then unref'd and left to finish, never killed.
 */
export async function closeWorker(
  worker: { once(event: 'exit', listener: () => void): unknown; unref(): void },
  ask: () => void,
  timeoutMs: number,
): Promise<boolean> {
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
