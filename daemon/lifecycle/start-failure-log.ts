import type { Logger } from 'pino';
import { LogBurst, withSuppressed } from '../util/index.ts';

/**
 * A component that keeps failing to start the same way (a read-only bags dir) is retried every 30 s for
 * as long as the daemon runs: its failure is logged at once, then once per 10 minutes with the count held
 * back (`suppressed`), and at once again when the error changes, a reload restarts it, or it recovers.
 * 10 minutes, not 1: the failure is no news after its first line (status, readiness and metrics show it
 * failed, with its retries, all along), and a line a minute would only halve the two a minute; 10 minutes
 * is 6 lines an hour, yet still on the last screen of `journalctl -u auraison-edge` for whoever looks.
 */
export const FAILURE_LOG_INTERVAL_MS = 600_000;

/** The supervisor's "component failed to start" and recovery lines, per component name. */
export class StartFailureLog {
  #log: Logger;
  #burst: LogBurst<string>;
  /** The error of each component's last "failed to start" line, while it is failing. */
  #logged = new Map<string, string>();

  constructor(log: Logger, options: { intervalMs?: number; now?: () => number } = {}) {
    this.#log = log;
    this.#burst = new LogBurst({ intervalMs: options.intervalMs ?? FAILURE_LOG_INTERVAL_MS, now: options.now });
  }

  /** A failed start (the `failedStarts`th in a row): at once when its error is new, else once per window. */
  failed(component: string, err: string, fields: { retryInMs: number; failedStarts: number }): void {
    let held: number | undefined;
    if (this.#logged.get(component) === err) held = this.#burst.take(component);
    else {
      held = this.#burst.flush(component); // repeats of the error before, said on this line
      this.#burst.take(component);
      this.#logged.set(component, err);
    }
    if (held === undefined) return;
    const line = { component, err, retryInMs: fields.retryInMs, failed_starts: fields.failedStarts };
    this.#log.error(withSuppressed(line, held), 'component failed to start; the rest of the daemon keeps running');
  }

  /** A fresh start (a reload restarts the component): its next failure is logged at once. */
  restarted(component: string): void {
    this.#logged.delete(component);
  }

  /**
   * The component started: the recovery after `failedStarts` failures (0: a plain start), with the repeats held back.
   */
  started(component: string, failedStarts: number): void {
    this.#logged.delete(component);
    if (failedStarts === 0) this.#log.info({ component }, 'component started');
    else
      this.#log.info(
        withSuppressed({ component, recovered_after_failed_starts: failedStarts }, this.#burst.flush(component)),
        'component started',
      );
  }
}
