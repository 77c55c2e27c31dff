/** What a status subscriber is told about: the components' states, readiness and the stop latch. */
export function statusKey(status: unknown): string {
  const s = status as {
    components?: Record<string, { state?: unknown; reason?: unknown; details?: { stop_latch?: unknown } }>;
    readiness?: { ready?: unknown };
  };
  const components = Object.entries(s.components ?? {}).map(([name, c]) => [
    name,
    c.state,
    c.reason ?? null,
    c.details?.stop_latch ?? null,
  ]);
  // Rates and counters change every second: only the states a person would call a change are compared.
  return JSON.stringify([components, s.readiness?.ready ?? null]);
}

/**
 * Polls the status while a client is subscribed to it, and says when what statusKey keeps has changed. Polled
 * rather than pushed: the status is a snapshot the API computes on request, and a second source of it would
 * drift; one GET /status every interval per subscribed session is cheap.
 */
export class StatusWatch {
  #read: () => Promise<unknown>;
  #changed: () => void;
  #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #last: string | undefined;

  constructor({
    read,
    changed,
    intervalMs = 500,
  }: {
    read: () => Promise<unknown>;
    changed: () => void;
    intervalMs?: number;
  }) {
    this.#read = read;
    this.#changed = changed;
    this.#intervalMs = intervalMs;
  }

  async start(): Promise<void> {
    if (this.#timer) return;
    this.#last = statusKey(await this.#read());
    this.#timer = setInterval(() => void this.#poll(), this.#intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    let key: string;
    try {
      key = statusKey(await this.#read());
    } catch {
      // The API not answering (closing) is no change to report; the next poll tries again.
      return;
    }
    if (key === this.#last) return;
    this.#last = key;
    this.#changed();
  }
}
