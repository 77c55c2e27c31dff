import type { ServerResponse } from 'node:http';
import type { Journal } from '../../contract/services.ts';
import type { FrameRing } from './frame-ring.ts';
import { gapFrame, PING_FRAME, recordFrame } from './sse-frame.ts';

export interface JournalStreamOptions {
  journal: Journal;
  ring: FrameRing;
  res: ServerResponse;
  /** The first seq to send. */
  fromSeq: number;
  /** Which record kinds to send (all when undefined). Skipped kinds still advance the cursor. */
  kinds?: ReadonlySet<string>;
  /** Bytes the client may have unread before writing stops until it drains. */
  maxBufferedBytes: number;
  /** Records the client may be behind the journal's end before it is skipped ahead with a gap event. */
  maxLag: number;
  /** A client whose unread bytes do not go down for this long is cut off. */
  stallTimeoutMs: number;
  /** Records read from the journal at once when replaying. */
  pageSize?: number;
  /** Told once when the stream ends, with why. */
  onEnd: (reason: 'closed' | 'stalled' | 'shutdown') => void;
  /** Counters shared by every stream. */
  counters: { sent: number; gaps: number; skipped: number };
}

/**
 * One SSE client of the journal. It keeps no queue: its whole state is a cursor (the next seq to send), and
 * the durable journal is the buffer. It writes while the socket takes bytes; once `maxBufferedBytes` are
 * unread it stops and waits for 'drain', so a slow client costs the daemon at most that much memory. A
 * client that falls more than `maxLag` records behind is skipped ahead with a `gap` event; one that reads
 * nothing for `stallTimeoutMs` is cut off (its EventSource reconnects with Last-Event-ID).
 */
export class JournalStream {
  #o: JournalStreamOptions;
  #pageSize: number;
  #cursor: number;
  #scheduled = false;
  #waitingDrain = false;
  #ended = false;
  #stallTimer: NodeJS.Timeout | undefined;
  /** Largest unread byte count seen, for tests and metrics. */
  peakBuffered = 0;

  constructor(options: JournalStreamOptions) {
    this.#o = options;
    this.#pageSize = options.pageSize ?? 256;
    this.#cursor = Math.max(1, options.fromSeq);
    options.res.on('close', () => this.end('closed'));
    options.res.on('error', () => this.end('closed'));
  }

  get cursor(): number {
    return this.#cursor;
  }

  get buffered(): number {
    return this.#o.res.writableLength;
  }

  /** New records exist: pump soon (coalesced, so a burst of appends costs one pump). */
  notify(): void {
    if (this.#scheduled || this.#waitingDrain || this.#ended) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.pump();
    });
  }

  /** A comment line for idle proxies and the client's liveness check; skipped while the client is behind (it is not idle then). */
  heartbeat(): void {
    if (!this.#ended && !this.#waitingDrain) this.#o.res.write(PING_FRAME);
  }

  pump(): void {
    const { journal, ring, res, kinds, maxBufferedBytes, maxLag, counters } = this.#o;
    if (this.#ended || this.#waitingDrain) return;
    for (;;) {
      const last = journal.lastSeq;
      if (this.#cursor > last) return;
      if (last - this.#cursor + 1 > maxLag) {
        const to = last - Math.floor(maxLag / 2);
        this.#gap(this.#cursor, to, `client is more than ${maxLag} records behind (api.events.max_lag)`);
      }
      const cached = ring.get(this.#cursor);
      if (cached) {
        this.#cursor++;
        if (!kinds || kinds.has(cached.kind)) this.#write(cached.frame);
      } else {
        const page = journal.read(this.#cursor, this.#pageSize);
        if (page.length === 0) return; // nothing readable yet; the next append notifies
        if (page[0]!.seq > this.#cursor) this.#gap(this.#cursor, page[0]!.seq - 1, 'records no longer in the journal');
        for (const record of page) {
          if (record.seq < this.#cursor) continue;
          this.#cursor = record.seq + 1;
          if (!kinds || kinds.has(record.kind)) this.#write(recordFrame(record));
          if (res.writableLength >= maxBufferedBytes) break;
        }
      }
      if (res.writableLength >= maxBufferedBytes) {
        this.#waitForDrain();
        return;
      }
    }
  }

  /** Ends the stream (idempotent). */
  end(reason: 'closed' | 'stalled' | 'shutdown'): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#stallTimer);
    if (reason === 'stalled') this.#o.res.destroy();
    else if (!this.#o.res.writableEnded) this.#o.res.end();
    this.#o.onEnd(reason);
  }

  #write(frame: string): void {
    this.#o.res.write(frame);
    this.#o.counters.sent++;
    const buffered = this.#o.res.writableLength;
    if (buffered > this.peakBuffered) this.peakBuffered = buffered;
  }

  #gap(from: number, to: number, reason: string): void {
    this.#o.res.write(gapFrame(from, to, reason));
    this.#o.counters.gaps++;
    this.#o.counters.skipped += to - from + 1;
    this.#cursor = to + 1;
  }

  #waitForDrain(): void {
    const { res, stallTimeoutMs } = this.#o;
    this.#waitingDrain = true;
    let lastBuffered = res.writableLength;
    const check = (): void => {
      // Progress (the client read something) re-arms the timer; none for a whole period cuts it off.
      if (res.writableLength < lastBuffered) {
        lastBuffered = res.writableLength;
        this.#stallTimer = setTimeout(check, stallTimeoutMs);
        this.#stallTimer.unref();
      } else this.end('stalled');
    };
    this.#stallTimer = setTimeout(check, stallTimeoutMs);
    this.#stallTimer.unref();
    res.once('drain', () => {
      clearTimeout(this.#stallTimer);
      this.#waitingDrain = false;
      this.pump();
    });
  }
}
