import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * TEST ONLY. A Server-Sent Events client over node:http that parses the stream as the EventSource spec
 * does (id, event, data lines; a blank line ends an event; `:` lines are comments) and lets a test wait
 * for events.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  #req: ClientRequest;
  #res: IncomingMessage | undefined;
  #buffer = '';
  #waiters: (() => void)[] = [];
  closed = false;

  #keep: boolean;
  /** Events seen, their last id, and how many ids did not follow the one before (with keepEvents false). */
  seen = { count: 0, lastId: 0, outOfOrder: 0 };

  /** `keepEvents: false` only counts events (for tests that push many through, and measure memory). */
  constructor(url: string, headers: Record<string, string> = {}, options: { keepEvents?: boolean } = {}) {
    this.#keep = options.keepEvents ?? true;
    this.#req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      this.#res = res;
      this.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => this.#feed(chunk));
      res.on('close', () => {
        this.closed = true;
        this.#wake();
      });
    });
    this.#req.on('error', () => {
      this.closed = true;
      this.#wake();
    });
    this.#req.end();
  }

  /** Resolves once `predicate` holds over the events received so far. */
  async until(predicate: (events: SseEvent[]) => boolean, what: string, timeoutMs = 20_000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (this.closed) throw new Error(`stream closed while waiting for ${what}; got ${this.seen.count} events`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; got ${this.seen.count} events (the last id ${this.seen.lastId}, ${this.seen.outOfOrder} out of order)${this.#keep ? `: ${JSON.stringify(this.events.slice(-3))}` : ''}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events;
  }

  /** The ids of the events named `event`, as numbers. */
  ids(event = 'agent_event'): number[] {
    return this.events.filter((e) => e.event === event).map((e) => Number(e.id));
  }

  close(): void {
    this.#res?.destroy();
    this.#req.destroy();
  }

  #feed(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const event: SseEvent = { event: 'message', data: '' };
      const data: string[] = [];
      let any = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'data') data.push(value);
        else continue;
        any = true;
      }
      if (!any) continue;
      event.data = data.join('\n');
      const id = Number(event.id);
      if (id !== this.seen.lastId + 1) this.seen.outOfOrder++;
      this.seen = { count: this.seen.count + 1, lastId: id, outOfOrder: this.seen.outOfOrder };
      if (this.#keep) this.events.push(event);
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
