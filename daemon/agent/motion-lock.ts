import type { HaltOrder } from '../halt/index.ts';

/** Why a motion was aborted: its signal's reason. `stop` is set when an operator's stop aborted it. */
export class MotionAborted extends Error {
  override name = 'MotionAborted';
  readonly stop: HaltOrder | undefined;
  constructor(message: string, stop?: HaltOrder) {
    super(message);
    this.stop = stop;
  }
}

/** No motion may start now (the operator's stop is latched): the message says why and how to release it. */
export class MotionRefused extends Error {
  override name = 'MotionRefused';
}

/**
 * One motion skill at a time, across runs: a new one supersedes the running one (as a new navigation goal
 * does), and `stop` aborts whatever moves.
 */
export class MotionLock {
  #current: { name: string; runId: string | undefined; controller: AbortController } | undefined;
  #refusal: () => string | undefined;

  /** `refusal`: why no motion may start now (a latched stop), or undefined. */
  constructor(refusal: () => string | undefined = () => undefined) {
    this.#refusal = refusal;
  }

  /**
   * Takes the lock for `name`, aborting the previous holder with a reason that names `name` and `runId`
   * (what its run then reports). The signal also follows `parent`. Throws a MotionRefused while a stop is
   * latched.
   */
  acquire(
    name: string,
    parent: AbortSignal,
    runId?: string,
  ): { signal: AbortSignal; held: () => boolean; release: () => void } {
    // Refused before anything is superseded: a latched stop leaves whatever holds the robot (nothing) as is.
    const refusal = this.#refusal();
    if (refusal !== undefined) throw new MotionRefused(refusal);
    this.abort(`superseded by ${name}${runId ? ` of run ${runId}` : ''}`);
    const controller = new AbortController();
    const onParent = () => controller.abort(parent.reason);
    parent.addEventListener('abort', onParent, { once: true });
    const entry = { name, runId, controller };
    this.#current = entry;
    return {
      signal: controller.signal,
      /** Whether this motion still has the robot (nothing superseded or stopped it). */
      held: () => this.#current === entry,
      release: () => {
        parent.removeEventListener('abort', onParent);
        if (this.#current === entry) this.#current = undefined;
      },
    };
  }

  /** What holds the robot now: a run's motion skill (with its run id), a driver outside the runs, or nothing. */
  get holder(): { name: string; run_id: string | null } | null {
    return this.#current ? { name: this.#current.name, run_id: this.#current.runId ?? null } : null;
  }

  /**
   * Aborts the running motion (with a MotionAborted naming `stop`, when an operator's stop did); returns its name, if
   * any.
   */
  abort(reason: string, stop?: HaltOrder): string | undefined {
    const current = this.#current;
    if (!current) return undefined;
    this.#current = undefined;
    current.controller.abort(new MotionAborted(reason, stop));
    return current.name;
  }
}
