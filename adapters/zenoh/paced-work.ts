/**
 * Work that many events ask for and one run answers (the bridge's reconcile with the graph), run on a timer
 * of its own: however often it is asked for within `intervalMs`, it runs once, and each run gets a budget of
 * `perRun` steps. A run that had more to do than its budget says so and runs again on the next interval.
 * Between runs the event loop reads its sockets, so a peer announcing 10,000 topics cannot hold up the
 * operator's POST /stop behind the declarations they would cause.
 */
export class PacedWork {
  #run: (budget: number) => boolean;
  #intervalMs: number;
  #perRun: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `run` does at most `budget` steps, and returns true when some were left for a later run. */
  constructor(options: { run: (budget: number) => boolean; intervalMs?: number; perRun?: number }) {
    const { run, intervalMs = 10, perRun = 8 } = options;
    this.#run = run;
    this.#intervalMs = intervalMs;
    this.#perRun = perRun;
  }

  request(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      if (this.#run(this.#perRun)) this.request();
    }, this.#intervalMs);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
