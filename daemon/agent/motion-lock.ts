/**
 * One motion skill at a time, across runs: a new one supersedes the running one (as a new navigation goal
 * does), and `stop` aborts whatever moves.
 */
export class MotionLock {
  #current: { name: string; controller: AbortController } | undefined;

  /**
   * Takes the lock for `name`, aborting the previous holder with a reason that names `name` and `runId`
   * (what its run then reports). The signal also follows `parent`.
   */
  acquire(name: string, parent: AbortSignal, runId?: string): { signal: AbortSignal; held: () => boolean; release: () => void } {
    this.abort(`superseded by ${name}${runId ? ` of run ${runId}` : ''}`);
    const controller = new AbortController();
    const onParent = () => controller.abort(parent.reason);
    parent.addEventListener('abort', onParent, { once: true });
    const entry = { name, controller };
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

  /** Aborts the running motion; returns its name, if any. */
  abort(reason: string): string | undefined {
    const current = this.#current;
    if (!current) return undefined;
    this.#current = undefined;
    current.controller.abort(new Error(reason));
    return current.name;
  }
}
