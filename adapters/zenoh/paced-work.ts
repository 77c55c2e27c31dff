/**
 * Work that many events ask for and one run answers (the bridge's reconcile with the graph), run on a timer
 * of its own. A request soon after a quiet spell runs within `soonMs`; requests in a burst are answered by one
 * run at most every `intervalMs`, since a run reads the whole graph. Each run gets a budget of `perRun` steps;
 * a run that had more to do than its budget says so and runs again within `soonMs`. Between runs the event
 * loop reads its sockets, so a peer announcing 10,000 topics cannot hold up the operator's POST /stop behind
 * the work they cause.
 */
export class PacedWork {
  #run: (budget: number) => boolean;
  #soonMs: number;
  #intervalMs: number;
  #perRun: number;
  #timer: NodeJS.Timeout | undefined;
  #lastRun = -Infinity;
  #closed = false;

  /** `run` does at most `budget` steps, and returns true when some were left for a later run. */
  constructor(options: { run: (budget: number) => boolean; soonMs?: number; intervalMs?: number; perRun?: number }) {
    const { run, soonMs = 10, intervalMs = 100, perRun = 8 } = options;
    this.#run = run;
    this.#soonMs = soonMs;
    this.#intervalMs = intervalMs;
    this.#perRun = perRun;
  }

  request(): void {
    this.#schedule(Math.max(this.#soonMs, this.#lastRun + this.#intervalMs - performance.now()));
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      this.#lastRun = performance.now();
      if (this.#run(this.#perRun)) this.#schedule(this.#soonMs);
    }, delayMs);
  }
}
