import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Plain JavaScript, so the worker needs no TypeScript loader. It compresses each chunk it is sent into one
// zstd frame, exactly what @foxglove/wasm-zstd's compress writes on the main thread (same module, same level).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const zstd = require(workerData.module);
zstd.isLoaded.then(() => {
  parentPort.on('message', ({ id, input }) => {
    try {
      let output = zstd.compress(input, workerData.level);
      // A small output is a slice of Node's shared buffer pool: copy it out, so only its own bytes move.
      if (output.byteOffset !== 0 || output.byteLength !== output.buffer.byteLength) output = new Uint8Array(output);
      parentPort.postMessage({ id, output }, [output.buffer]);
    } catch (error) {
      parentPort.postMessage({ id, error: String((error && error.message) || error) });
    }
  });
});
`;

const WASM_ZSTD = createRequire(import.meta.url).resolve('@foxglove/wasm-zstd');

interface Job {
  resolve: (output: Uint8Array) => void;
  reject: (error: Error) => void;
}

/** A worker thread and the jobs sent to it, not yet answered. */
interface Thread {
  worker: Worker;
  jobs: Map<number, Job>;
}

interface Reply {
  id: number;
  output?: Uint8Array;
  error?: string;
}

/**
 * zstd chunk compression on a worker thread (@foxglove/wasm-zstd), so a chunk never holds the event loop
 * for the milliseconds per MiB that compressing takes. The event loop only copies the chunk's pieces into
 * one buffer (a step of `stepBytes` at a time, yielding between steps) and hands it over without a copy;
 * the frame comes back the same way.
 *
 * Jobs run one at a time, in the order sent. A worker that dies fails the jobs it held, and the next job
 * starts a new one. The thread holds the process open only while jobs are outstanding; `close()` ends it.
 */
export class ZstdWorker {
  #level: number;
  #stepBytes: number;
  #thread: Thread | undefined;
  #nextId = 0;

  constructor(options: { level?: number; stepBytes: number }) {
    const { level = 1, stepBytes } = options;
    this.#level = level;
    this.#stepBytes = stepBytes;
  }

  /** One zstd frame of the pieces, joined (`byteLength` is their total). */
  async compress(pieces: readonly Uint8Array[], byteLength: number): Promise<Uint8Array> {
    const input = await this.#join(pieces, byteLength);
    const { worker, jobs } = this.#start();
    const id = this.#nextId++;
    const output = new Promise<Uint8Array>((resolve, reject) => jobs.set(id, { resolve, reject }));
    if (jobs.size === 1) worker.ref();
    worker.postMessage({ id, input }, [input.buffer as ArrayBuffer]);
    return output;
  }

  /** Ends the worker thread; jobs still on it fail. */
  async close(): Promise<void> {
    const thread = this.#thread;
    this.#thread = undefined;
    if (thread) await thread.worker.terminate();
  }

  /**
   * The pieces copied into a buffer of their own (so it can be transferred, not cloned: a piece may be a
   * view into a larger buffer that must stay here). A chunk of one large message is copied a step at a
   * time, with the event loop running between steps.
   */
  async #join(pieces: readonly Uint8Array[], byteLength: number): Promise<Uint8Array> {
    // Not zeroed (every byte is copied over) and not from the pool: its whole ArrayBuffer is transferred.
    const joined = Buffer.allocUnsafeSlow(byteLength);
    let at = 0;
    let sinceYield = 0;
    for (const piece of pieces) {
      for (let from = 0; from < piece.byteLength;) {
        const take = Math.min(piece.byteLength - from, this.#stepBytes - sinceYield);
        joined.set(from === 0 && take === piece.byteLength ? piece : piece.subarray(from, from + take), at);
        at += take;
        from += take;
        sinceYield += take;
        if (sinceYield === this.#stepBytes && at < byteLength) {
          sinceYield = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
    return joined;
  }

  #start(): Thread {
    if (this.#thread) return this.#thread;
    const worker = new Worker(WORKER, { eval: true, workerData: { module: WASM_ZSTD, level: this.#level } });
    const thread: Thread = { worker, jobs: new Map() };
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const job = thread.jobs.get(reply.id);
      if (!job) return;
      thread.jobs.delete(reply.id);
      if (thread.jobs.size === 0) worker.unref();
      if (reply.output) job.resolve(reply.output);
      else job.reject(new Error(`zstd compression failed: ${reply.error ?? 'no output'}`));
    });
    const fail = (why: string) => {
      if (this.#thread === thread) this.#thread = undefined;
      const jobs = [...thread.jobs.values()];
      thread.jobs.clear();
      for (const job of jobs) job.reject(new Error(`zstd compression failed: ${why}`));
    };
    worker.on('error', (error) => fail(`its worker thread failed: ${error.message}`));
    worker.on('exit', (code) => fail(`its worker thread exited (code ${code})`));
    this.#thread = thread;
    return thread;
  }
}
