import { errorText } from './error-text.ts';

export interface JobQueueOptions {
  /** Asked as each job is due to start: true skips it (its `skipped` runs instead). */
  hold?: () => boolean;
  /** A job ran to its end. */
  succeeded?: (kind: string) => void;
  /** A job threw: its error, which the queue keeps for `failures` until a job of its kind succeeds. */
  failed?: (kind: string, error: unknown) => void;
  /** A queued job not run because close() came before it began. */
  dropped?: (kind: string) => void;
}

/**
 * Runs jobs one at a time, in the order queued, in the background. Each job has a kind, and a job is not queued
 * while one of its kind waits to start, so work queued faster than it runs (a slow disk) does not pile up. A job
 * that throws is not retried: its error is kept for `failures` until a job of its kind succeeds.
 *
 * Callers never wait on a job; `settled` and `idle` are for those who must see the work done (a reply that says
 * what was indexed, a test, a shutdown).
 */
export class JobQueue {
  readonly #hold: (() => boolean) | undefined;
  readonly #succeeded: ((kind: string) => void) | undefined;
  readonly #failed: ((kind: string, error: unknown) => void) | undefined;
  readonly #dropped: ((kind: string) => void) | undefined;
  #tail: Promise<void> = Promise.resolve();
  /** Kinds queued and not yet begun. */
  #waiting = new Set<string>();
  #failures = new Map<string, string>();
  #closed = false;
  /** Set by close(): which of the jobs queued before it still run. */
  #keep: ((kind: string) => boolean) | undefined;

  constructor(options: JobQueueOptions = {}) {
    const { hold, succeeded, failed, dropped } = options;
    this.#hold = hold;
    this.#succeeded = succeeded;
    this.#failed = failed;
    this.#dropped = dropped;
  }

  /** Jobs queued and not yet begun. */
  get queued(): number {
    return this.#waiting.size;
  }

  /** The last error of each kind of job, until one of that kind succeeds. */
  get failures(): ReadonlyMap<string, string> {
    return this.#failures;
  }

  /** Whether close() was called: no job is queued from then on. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues `job` behind the others, unless one of its kind waits to start already or the queue is closed; returns
   * whether it was queued. `skipped` runs in its place while `hold` says so.
   */
  add(kind: string, job: () => Promise<void>, skipped?: () => void): boolean {
    if (this.#closed || this.#waiting.has(kind)) return false;
    this.#waiting.add(kind);
    this.#tail = this.#tail.then(async () => {
      this.#waiting.delete(kind);
      if (this.#keep && !this.#keep(kind)) return void this.#dropped?.(kind);
      if (this.#hold?.()) return skipped?.();
      try {
        await job();
        this.#failures.delete(kind);
        this.#succeeded?.(kind);
      } catch (error) {
        this.#failures.set(kind, errorText(error));
        this.#failed?.(kind, error);
      }
    });
    return true;
  }

  /** Resolves once the jobs queued so far have run. */
  settled(): Promise<void> {
    return this.#tail;
  }

  /** Resolves once no job is queued or running: a job may queue more, so it waits until none came meanwhile. */
  async idle(): Promise<void> {
    for (let tail = this.#tail; ; tail = this.#tail) {
      await tail;
      if (tail === this.#tail) return;
    }
  }

  /**
   * Takes no more jobs, and of those queued and not begun runs only the kinds `keep` says (none without it); the
   * rest go to `dropped`. Resolves once the job running and those kept have run.
   */
  close(keep: (kind: string) => boolean = () => false): Promise<void> {
    this.#closed = true;
    this.#keep = keep;
    return this.#tail;
  }
}
