import type { Logger } from 'pino';
import { LogBurst, withSuppressed } from './util/index.ts';

/**
 * The log lines of rejected config reloads. Repeats of one rejection (keyed by its error) log at most a line a
 * minute: a script that sends SIGHUP every second with a bad file must not log a line a second. Only the last
 * error is kept: another error, or a reload that applies, is logged at once. The outcome and the counters
 * still count every reload.
 */
export class ReloadRejections {
  #log: Logger;
  #burst: LogBurst<string>;
  #last: string | undefined;

  constructor(options: { log: Logger; now?: () => number }) {
    const { log, now } = options;
    this.#log = log;
    this.#burst = new LogBurst({ intervalMs: 60_000, now });
  }

  /** A rejected reload's line: at once for a new error, else once a minute with `suppressed` (repeats held back). */
  reject(fields: { err: string; hint: string; file: string }): void {
    let held: number | undefined;
    if (fields.err === this.#last) held = this.#burst.take(fields.err);
    else {
      // repeats of the error before
      held = this.#last === undefined ? 0 : this.#burst.flush(this.#last);
      this.#last = fields.err;
      this.#burst.take(fields.err);
    }
    if (held !== undefined)
      this.#log.error(withSuppressed(fields, held), 'config reload rejected; the running config stays in force');
  }

  /** A reload applied: the last rejection's repeats held back, for its line; the next rejection logs at once. */
  settle(): number {
    const held = this.#last === undefined ? 0 : this.#burst.flush(this.#last);
    this.#last = undefined;
    return held;
  }
}
