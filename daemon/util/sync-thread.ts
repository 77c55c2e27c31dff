import { Worker } from 'node:worker_threads';

/**
 * The worker's code: plain CommonJS, so it runs under any loader. Each job is done with the synchronous
 * fs calls, one after another, and answered with one message.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { dirname } = require('node:path');
const { randomUUID } = require('node:crypto');
function writeDurably(path, text) {
  const dir = dirname(path);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path + '.' + randomUUID() + '.tmp';
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, text);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  } catch (error) {
    try { fs.rmSync(tmp, { force: true }); } catch {}
    throw error;
  }
  const dirFd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(dirFd); } finally { fs.closeSync(dirFd); }
}
parentPort.on('message', (job) => {
  try {
    if (job.op === 'fdatasync') fs.fdatasyncSync(job.fd);
    else writeDurably(job.path, job.text);
    parentPort.postMessage({ id: job.id });
  } catch (error) {
    parentPort.postMessage({ id: job.id, message: error.message, code: error.code });
  }
});
`;

type Job = { op: 'fdatasync'; fd: number } | { op: 'write'; path: string; text: string };
type Done = (error: NodeJS.ErrnoException | null) => void;

/**
 * A thread of its own for the few writes that must be durable at once: the operator's stop (its latch file)
 * and the journal's fdatasync. Node's own fs calls share libuv's four threads with DuckDB's queries, the
 * recorder and every other file read, and under load a stop's half-dozen calls each waited behind them (and
 * each for a turn of the event loop between them); here a job is one message out and one back. Jobs run in
 * the order sent. A disk that never answers holds this thread, never the event loop: callers bound their wait.
 */
export class SyncThread {
  /** Started by the first job: a daemon that is built and never started (a CLI check, a test) starts none. */
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, Done>();
  #idle: (() => void)[] = [];
  #nextId = 0;
  #closed = false;

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', ({ id, message, code }: { id: number; message?: string; code?: string }) => {
      const done = this.#waiting.get(id);
      this.#waiting.delete(id);
      done?.(message === undefined ? null : Object.assign(new Error(message), { code }));
      if (this.#waiting.size > 0) return;
      // Jobs in flight keep the process alive (ref'd while any waits), an idle thread does not.
      worker.unref();
      for (const wake of this.#idle.splice(0)) wake();
    });
    worker.on('error', (error) => this.#failAll(error));
    worker.on('exit', () => {
      // A thread that died on its own is started again by the next job: the journal's syncs go on.
      if (this.#worker === worker) this.#worker = undefined;
      this.#failAll(new Error('the sync thread exited'));
    });
    this.#worker = worker;
    return worker;
  }

  /** fdatasync(2) of `fd` on this thread; the callback's shape is fs.fdatasync's. */
  fdatasync = (fd: number, callback: Done): void => {
    this.#send({ op: 'fdatasync', fd }, callback);
  };

  /** Writes `text` to `path` as util's writeDurably does (temp file, fsync, rename, fsync of the dir). */
  writeDurably = (path: string, text: string): Promise<void> =>
    new Promise((resolve, reject) => this.#send({ op: 'write', path, text }, (e) => (e ? reject(e) : resolve())));

  /** Ends the thread once the jobs sent are done. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#waiting.size > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.#worker?.terminate();
  }

  #send(job: Job, done: Done): void {
    if (this.#closed) return done(new Error('the sync thread is closed'));
    const id = this.#nextId++;
    this.#waiting.set(id, done);
    const worker = this.#thread();
    worker.ref();
    worker.postMessage({ ...job, id });
  }

  #failAll(error: Error): void {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const done of waiting) done(error);
    for (const wake of this.#idle.splice(0)) wake();
  }
}
