import type { MessagePort, Worker } from 'node:worker_threads';
import type { PolicySettings } from '../../config/index.ts';
import type { InferenceClose, InferenceStatus, InferenceWorkerData } from './loop-protocol.ts';
import type { RemoteStatus } from '../remote/remote-status.ts';
import { closeWorker, spawnTsWorker, workerEntry } from '../../util/index.ts';

export interface InferenceThreadOptions {
  policyName: string;
  policy: PolicySettings;
  /** The output whose chunk goes back. */
  output: string;
  /** The inference thread's end of the loop thread's channel (transferred to it). */
  port: MessagePort;
  /** Called once if the thread dies after it was ready, other than by close(): an uncaught error, an exit. */
  onDeath: (error: Error) => void;
  /**
   * The module the thread runs: inference-worker.ts, or for a remote policy remote-inference-worker.ts; a test passes
   * a stand-in that dies on cue.
   */
  entry?: URL;
  /** Called with a remote policy's status at each change. */
  onRemote?: (status: RemoteStatus) => void;
}

/**
 * The inference thread of an async chunking loop, held by the main thread: started (and its session
 * loaded) before the loop thread, watched for death, closed after the loop thread has stopped. The main
 * thread holds it, not the loop thread, because the loop thread never yields to its event loop (where a
 * thread's death is told) and because a thread's children end with it: a loop thread that exited while
 * its inference ran would terminate that run, which aborts the process (see closeWorker).
 */
export class InferenceThread {
  #worker: Worker;
  #exited = false;
  #closing = false;
  #dead: Error | undefined;
  #remote: RemoteStatus | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /** Starts the thread and waits for its session to load; rejects with why it could not. */
  static async start(options: InferenceThreadOptions): Promise<InferenceThread> {
    const {
      policyName,
      policy,
      output,
      port,
      onDeath,
      onRemote,
      entry = workerEntry(
        policy.remote ? 'daemon/system1/remote/remote-inference-worker' : 'daemon/system1/control/inference-worker',
      ),
    } = options;
    const worker = spawnTsWorker(entry, {
      workerData: { policyName, policy, output, port } satisfies InferenceWorkerData,
      transferList: [port],
    });
    const thread = new InferenceThread(worker);
    let cause: Error | undefined;
    worker.on('error', (error) => void (cause ??= error));
    let failed = (_: Error): void => undefined;
    const onError = (error: Error): void =>
      failed(new Error(`the inference thread failed while loading: ${error.message}`));
    const onExit = (code: number): void =>
      failed(new Error(`the inference thread exited with code ${code} before its model was loaded`));
    const first = await new Promise<InferenceStatus>((resolve, reject) => {
      failed = reject;
      worker.once('message', resolve).once('error', onError).once('exit', onExit);
    })
      .catch(async (error: unknown) => {
        await worker.terminate(); // it never got to a run: safe to end
        throw error;
      })
      .finally(() => worker.off('error', onError).off('exit', onExit).removeAllListeners('message'));
    if (first.kind === 'fatal') {
      await worker.terminate();
      throw new Error(first.message);
    }
    worker.on('message', (m: InferenceStatus) => {
      if (m.kind !== 'remote') return;
      thread.#remote = m.status;
      onRemote?.(m.status);
    });
    worker.on('exit', (code) => {
      thread.#exited = true;
      if (thread.#closing) return;
      thread.#dead = new Error(
        cause ? `inference thread died: ${cause.message}` : `inference thread exited with code ${code}`,
      );
      onDeath(thread.#dead);
    });
    return thread;
  }

  /** A remote policy's status as its thread last said; undefined for a local policy. */
  get remote(): RemoteStatus | undefined {
    return this.#remote;
  }

  /** Why the thread died after it was ready; undefined while it runs (or once closed). */
  get dead(): Error | undefined {
    return this.#dead;
  }

  /**
   * Asks the thread to finish its run in flight, release its session and exit; true once it has. After
   * `timeoutMs` it is left to finish on its own (false): terminating it inside a run aborts the process.
   */
  async close(timeoutMs: number): Promise<boolean> {
    if (this.#exited) return true;
    this.#closing = true;
    return closeWorker(
      this.#worker,
      () => this.#worker.postMessage({ close: true } satisfies InferenceClose),
      timeoutMs,
    );
  }
}
