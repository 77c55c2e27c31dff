/**
 * Polls a resource while a client is subscribed to it, and says when its key (what a subscriber would call a
 * change) differs from the last one. Polled through the API rather than pushed: the status is a snapshot the
 * API computes on request and the map is what the bus keeps, and a second source of either would drift. The
 * interval is also the rate limit: at most one resources/updated per interval, however often the robot sends.
 */
export class ResourceWatch {
  #key: (last: string | undefined) => Promise<string | undefined>;
  #changed: () => void;
  #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #last: string | undefined;

  /** `key`: the resource's key now, given the last one (a conditional GET sends it back); undefined when absent. */
  constructor({
    key,
    changed,
    intervalMs,
  }: {
    key: (last: string | undefined) => Promise<string | undefined>;
    changed: () => void;
    intervalMs: number;
  }) {
    this.#key = key;
    this.#changed = changed;
    this.#intervalMs = intervalMs;
  }

  async start(): Promise<void> {
    if (this.#timer) return;
    this.#last = await this.#key(undefined);
    this.#timer = setInterval(() => void this.#poll(), this.#intervalMs);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    let key: string | undefined;
    try {
      key = await this.#key(this.#last);
    } catch {
      // The API not answering (closing) is no change to report; the next poll tries again.
      return;
    }
    if (key === this.#last) return;
    this.#last = key;
    this.#changed();
  }
}
