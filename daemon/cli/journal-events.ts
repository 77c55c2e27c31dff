import type { ApiTarget } from '../api/index.ts';
import { errorText, withTimeout } from '../util/index.ts';

/** One Server-Sent Event of GET /events: `id` is the journal record's seq, `data` the record as JSON. */
export interface JournalEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * The daemon's journal as it is written, read from GET /events (Server-Sent Events) over fetch. Opened with no
 * `lastEventId` it starts at the journal's end, which the stream's first comment names (`journalSeq`); with
 * one, it replays every record after it first. Callers read events one at a time with `next()`.
 */
export class JournalEvents {
  /** The journal's last seq when the stream opened (its `: journal at seq N` comment), once read. */
  journalSeq: number | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #abort: AbortController;
  #decoder = new TextDecoder();
  #buffer = '';

  private constructor(reader: ReadableStreamDefaultReader<Uint8Array>, abort: AbortController) {
    this.#reader = reader;
    this.#abort = abort;
  }

  /** Opens the stream; throws an ApiClientError when the API refuses it (503 when too many streams are open). */
  static async open(
    target: ApiTarget,
    options: { kinds?: string; lastEventId?: number; timeoutMs?: number } = {},
  ): Promise<JournalEvents> {
    const { kinds, lastEventId, timeoutMs = 5000 } = options;
    const { ApiClientError } = await import('../api/index.ts');
    const query = new URLSearchParams({
      ...(kinds ? { kinds } : {}),
      ...(lastEventId !== undefined ? { last_event_id: String(lastEventId) } : {}),
    });
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (target.token) headers.authorization = `Bearer ${target.token}`;
    // Ends the stream when the caller closes it.
    const abort = new AbortController();
    let response: Response;
    try {
      // Only the answer's headers are timed: the stream itself stays open as long as the caller reads.
      response = await withTimeout(
        (signal) => fetch(`${target.url}/events?${query}`, { headers, signal }),
        timeoutMs,
        `no answer within ${timeoutMs} ms`,
        { signal: abort.signal },
      );
    } catch (error) {
      const { cause } = error as { cause?: { code?: string; message?: string } };
      throw new ApiClientError(
        0,
        'unreachable',
        `no event stream from ${target.url}: ${cause?.code ?? cause?.message ?? errorText(error)}`,
      );
    }
    if (!response.ok || !response.body) {
      const text = await response.text().catch(() => '');
      let body: { error?: string; message?: string } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // not JSON: the status says enough
      }
      throw new ApiClientError(
        response.status,
        body.error ?? 'http_error',
        body.message ?? `GET /events: HTTP ${response.status}`,
      );
    }
    return new JournalEvents(response.body.getReader(), abort);
  }

  /** The next event, or undefined when the stream ended (the daemon stopped, or cut this client off). */
  async next(): Promise<JournalEvent | undefined> {
    for (;;) {
      const end = /\r?\n\r?\n/.exec(this.#buffer);
      if (end) {
        const block = this.#buffer.slice(0, end.index);
        this.#buffer = this.#buffer.slice(end.index + end[0].length);
        const event = this.#parse(block);
        if (event) return event;
        continue;
      }
      let chunk: { done: boolean; value?: Uint8Array };
      try {
        chunk = await this.#reader.read();
      } catch {
        return undefined; // the connection broke: the same as an end, for a reader that reconnects
      }
      if (chunk.done) return undefined;
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
    }
  }

  close(): void {
    this.#abort.abort();
    this.#reader.cancel().catch(() => {}); // already closed or broken: nothing to release
  }

  /** An event block's fields; a block of comments only (a ping, the journal's seq) is no event. */
  #parse(block: string): JournalEvent | undefined {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      const seq = /^: journal at seq (\d+)/.exec(line);
      if (seq && this.journalSeq === undefined) this.journalSeq = Number(seq[1]);
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    return data.length > 0 ? { id, event, data: data.join('\n') } : undefined;
  }
}
