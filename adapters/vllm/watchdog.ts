/**
 * One timer over a request's phases (connect, first token, idle between chunks): each `arm` replaces the
 * last, and when one fires the request is aborted and `expired` says which phase ran out.
 */
export class Watchdog {
  expired: string | undefined;
  #controller: AbortController;
  #timer: NodeJS.Timeout | undefined;

  constructor(controller: AbortController) {
    this.#controller = controller;
  }

  arm(ms: number, what: string): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.expired = `${what} (${ms} ms)`;
      this.#controller.abort();
    }, ms);
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}
