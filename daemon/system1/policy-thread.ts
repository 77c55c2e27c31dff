import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { PolicySettings } from '../config/index.ts';
import { closeWorker, spawnTsWorker, workerEntry } from '../util/index.ts';
import { PolicyInputError, type PolicyInputErrorCode, type PolicyOutput, type StepInputs } from './policy-runner.ts';
import type { PolicySpec } from './policy-spec.ts';

/** What the VLA service needs of a policy: its spec and one run at a time (a PolicyRunner, or a PolicyThread). */
export interface PolicyExecutor {
  readonly spec: PolicySpec;
  /** Forgets recurrent state; a query starts from zero. */
  reset?(): void;
  /** One step. Callers await one run before the next. */
  run(inputs: StepInputs): Promise<Record<string, PolicyOutput>>;
}

/** A query to run, or `close`: finish the run in flight, release the session and exit. */
export type ServingRequest = { id: number; inputs: StepInputs } | { close: true };
export type ServingReply =
  | { kind: 'ready'; spec: PolicySpec }
  | { kind: 'fatal'; message: string }
  /** The thread began the run: it computes now, until its answer. */
  | { kind: 'running'; id: number }
  | { kind: 'outputs'; id: number; outputs: Record<string, PolicyOutput> }
  | { kind: 'error'; id: number; code: PolicyInputErrorCode | undefined; message: string };

/** How long close() waits for a query in flight before it leaves the thread to finish on its own. */
const CLOSE_TIMEOUT_MS = 2000;

type Pending = { resolve: (r: Record<string, PolicyOutput>) => void; reject: (e: Error) => void };

/**
 * A served policy in its own worker thread (serving-worker.ts), so a slow model keeps its computation
 * off the daemon's main thread: the bus, the API, the loops' observations and the watchdog go on while
 * it runs. Callers must await one `run` before the next (the VLA service queues them).
 */
export class PolicyThread implements PolicyExecutor {
  readonly spec: PolicySpec;
  #worker: Worker;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #dead: Error | undefined;
  /** The run the thread said it began and has not answered. */
  #running: number | undefined;

  private constructor(spec: PolicySpec, worker: Worker) {
    this.spec = spec;
    this.#worker = worker;
    worker.on('message', (m: ServingReply) => {
      if (m.kind === 'running') this.#running = m.id;
      if (m.kind !== 'outputs' && m.kind !== 'error') return;
      if (this.#running === m.id) this.#running = undefined;
      const waiting = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.kind === 'outputs') waiting?.resolve(m.outputs);
      else waiting?.reject(m.code ? new PolicyInputError(m.code, m.message) : new Error(m.message));
    });
    const die = (error: Error): void => {
      this.#dead ??= error;
      for (const p of this.#pending.values()) p.reject(this.#dead);
      this.#pending.clear();
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`the serving thread exited (code ${code})`)));
  }

  /** Starts the thread and waits for the model to load; rejects with the load error. */
  static async open(name: string, settings: PolicySettings): Promise<PolicyThread> {
    const worker = spawnTsWorker(workerEntry('daemon/system1/serving-worker'), {
      workerData: { policyName: name, policy: settings },
    });
    // events.once rejects on 'error' (a worker that fails to boot); a model that fails to load posts 'fatal'.
    const [first] = (await once(worker, 'message').catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    })) as [ServingReply];
    if (first.kind !== 'ready') {
      await worker.terminate();
      throw new Error(
        first.kind === 'fatal' ? first.message : `policy ${name}: unexpected first message from the serving thread`,
      );
    }
    return new PolicyThread(first.spec, worker);
  }

  /**
   * One stateless step (the thread resets recurrent state per request). A decoded frame is posted as it is, the
   * input's size but 8-bit and channels last, and becomes the model's layout there (PolicyRunner.run): its float
   * tensor is 4 times the bytes and a loop over every pixel, both kept off the main thread. Nothing is transferred:
   * a frame can be a view of the request's payload (a raw frame already of the input's size), which is not ours.
   */
  run(inputs: StepInputs): Promise<Record<string, PolicyOutput>> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, inputs } satisfies ServingRequest);
    });
  }

  /** Whether the thread is inside a run now (it began one and has not answered). */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Why the thread no longer serves (it failed, exited or was closed); undefined while it serves. */
  get dead(): Error | undefined {
    return this.#dead;
  }

  /**
   * Ends the thread once its query in flight (if any) has run: terminating it inside onnxruntime would
   * abort the daemon (see closeWorker). A run still going after CLOSE_TIMEOUT_MS is left to finish unref'd.
   */
  async close(): Promise<void> {
    this.#dead ??= new Error('the policy was closed');
    await closeWorker(
      this.#worker,
      () => this.#worker.postMessage({ close: true } satisfies ServingRequest),
      CLOSE_TIMEOUT_MS,
    );
  }
}
