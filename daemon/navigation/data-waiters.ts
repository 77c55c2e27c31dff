export type DataWait = 'ready' | 'timeout' | 'ended';

/**
 * Calls waiting for the navigator's first /map and /odom: each checks whether it may go on (or must give up)
 * when woken.
 */
export class DataWaiters {
  #checks = new Set<() => void>();

  /**
   * Waits until `ready()` ('ready'), for at most timeoutMs ('timeout'). Gives up at once ('ended') when the
   * signal aborts or `ended()` says so (a newer call came, the navigator stopped): the caller says which.
   */
  wait(
    timeoutMs: number,
    signal: AbortSignal | undefined,
    { ready, ended }: { ready: () => boolean; ended: () => boolean },
  ): Promise<DataWait> {
    return new Promise((resolve) => {
      const settle = (how: DataWait) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', check);
        this.#checks.delete(check);
        resolve(how);
      };
      const check = () => {
        if (signal?.aborted || ended()) settle('ended');
        else if (ready()) settle('ready');
      };
      const timer = setTimeout(() => settle('timeout'), timeoutMs);
      signal?.addEventListener('abort', check, { once: true });
      this.#checks.add(check);
      check();
    });
  }

  /** Each waiting call checks again. */
  wake(): void {
    for (const check of [...this.#checks]) check();
  }
}
