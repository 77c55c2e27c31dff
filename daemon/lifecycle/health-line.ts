export interface HealthWatchOptions {
  /** The line now: the daemon's readiness in words (readinessLine). */
  read: () => Promise<string>;
  /** Each change of the line, with the one before it. */
  onChange: (line: string, before: string | undefined) => void;
  everyMs: number;
}

/** A line's words without its figures: seconds and counts in a reason change at every read, its health does not. */
const words = (line: string) => line.replace(/\d+(\.\d+)?/g, '#');

/** Reads the daemon's health line every `everyMs` and reports each change of its words once. */
export class HealthWatch {
  readonly #options: HealthWatchOptions;
  #line: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: HealthWatchOptions) {
    this.#options = options;
  }

  start(): void {
    void this.check();
    this.#timer = setInterval(() => void this.check(), this.#options.everyMs);
    this.#timer.unref();
  }

  /** Reads the line now; reports it if it changed (or if `always`: after something else set systemd's STATUS). */
  async check(always = false): Promise<void> {
    const line = await this.#options.read();
    if (this.#line !== undefined && words(line) === words(this.#line) && !always) return;
    const before = this.#line;
    this.#line = line;
    this.#options.onChange(line, before);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
