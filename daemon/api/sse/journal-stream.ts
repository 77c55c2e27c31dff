import type { ServerResponse } from 'node:http';
import type { Journal } from '../../contract/index.ts';
import type { FrameRing } from './frame-ring.ts';
import type { ReplayReader } from './replay-reader.ts';
import { gapFrame, PING_FRAME } from './sse-frame.ts';

export interface JournalStreamOptions {
  journal: Journal;
  ring: FrameRing;
  /** Where records older than the ring come from, shared by every client. */
  replay: ReplayReader;
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
  /** Told once when the client has every record the journal had (it is live from then on). */
  onCaughtUp?: () => void;
  /** Told once when the stream ends, with why. */
  onEnd: (reason: 'closed' | 'stalled' | 'shutdown') => void;
  /** Counters shared by every stream. */
  counters: { sent: number; gaps: number; skipped: number };
}

/**
 * One SSE client of the journal. It keeps no queue: its whole state is a cursor (the next seq to send), and
 * the durable journal is the buffer. It writes a slice at a time, each turn of the event loop; once
 * `maxBufferedBytes` are unread it stops and waits for 'drain', so a slow client costs the daemon at most
 * that much memory. A client that falls more than `maxLag` records behind is skipped ahead with a `gap`
 * event; one that reads nothing for `stallTimeoutMs` is cut off (its EventSource reconnects with
 * Last-Event-ID).
 */
export class JournalStream {
  readonly #res: ServerResponse;
  readonly #onCaughtUp: (() => void) | undefined;
  readonly #onEnd: (reason: 'closed' | 'stalled' | 'shutdown') => void;
  readonly #counters: JournalStreamOptions['counters'];
  readonly #journal: Journal;
  readonly #ring: FrameRing;
  readonly #replay: ReplayReader;
  readonly #kinds: ReadonlySet<string> | undefined;
  readonly #maxBufferedBytes: number;
  readonly #maxLag: number;
  readonly #stallTimeoutMs: number;
  #cursor: number;
  #caughtUp = false;
  #scheduled = false;
  #waitingDrain = false;
  #ended = false;
  #stallTimer: NodeJS.Timeout | undefined;
  /** Largest unread byte count seen, for tests and metrics. */
  peakBuffered = 0;

  constructor(options: JournalStreamOptions) {
    const { res, onCaughtUp, onEnd, counters, journal, ring, replay, kinds, maxBufferedBytes, maxLag, stallTimeoutMs } =
      options;
    this.#res = res;
    this.#onCaughtUp = onCaughtUp;
    this.#onEnd = onEnd;
    this.#counters = counters;
    this.#journal = journal;
    this.#ring = ring;
    this.#replay = replay;
    this.#kinds = kinds;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.#maxLag = maxLag;
    this.#stallTimeoutMs = stallTimeoutMs;
    this.#cursor = Math.max(1, options.fromSeq);
    options.res.on('close', () => this.end('closed'));
    options.res.on('error', () => this.end('closed'));
  }

  get cursor(): number {
    return this.#cursor;
  }

  get buffered(): number {
    return this.#res.writableLength;
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

  /**
   * A comment line for idle proxies and the client's liveness check; skipped while the client is behind (it is not idle
   * then).
   */
  heartbeat(): void {
    if (!this.#ended && !this.#waitingDrain) this.#res.write(PING_FRAME);
  }

  /**
   * Writes at most one slice (ReplayReader.sliceRecords records), then yields to the event loop before the
   * next: a client replaying a month of journal must not hold up a POST /stop, whatever the number of them.
   */
  pump(): void {
    const journal = this.#journal;
    const ring = this.#ring;
    const replay = this.#replay;
    const res = this.#res;
    const kinds = this.#kinds;
    const maxBufferedBytes = this.#maxBufferedBytes;
    const maxLag = this.#maxLag;
    if (this.#ended || this.#waitingDrain) return;
    const last = journal.lastSeq;
    if (this.#cursor > last) return this.#reachedEnd();
    if (last - this.#cursor + 1 > maxLag) {
      this.#gap(
        this.#cursor,
        last - Math.floor(maxLag / 2),
        `client is more than ${maxLag} records behind (api.events.max_lag)`,
      );
    }
    let chunk = '';
    let count = 0;
    let taken = 0;
    // Unread bytes stay within maxBufferedBytes plus one frame: the slice ends at the frame that reaches it.
    const room = (): boolean => res.writableLength + chunk.length < maxBufferedBytes;
    for (
      let cached = ring.get(this.#cursor);
      cached && taken < replay.sliceRecords && room();
      cached = ring.get(this.#cursor)
    ) {
      this.#cursor++;
      taken++;
      if (kinds && !kinds.has(cached.kind)) continue;
      chunk += cached.frame;
      count++;
    }
    if (taken === 0) {
      const frames = replay.read(this.#cursor);
      if (frames.length === 0) return; // nothing readable yet; the next append notifies
      if (frames[0]!.seq > this.#cursor)
        this.#gap(this.#cursor, frames[0]!.seq - 1, 'records no longer in the journal');
      for (const { seq, kind, frame } of frames) {
        if (!room()) break;
        this.#cursor = seq + 1;
        if (kinds && !kinds.has(kind)) continue;
        chunk += frame;
        count++;
      }
    }
    if (count > 0) {
      res.write(chunk);
      this.#counters.sent += count;
      if (res.writableLength > this.peakBuffered) this.peakBuffered = res.writableLength;
    }
    if (res.writableLength >= maxBufferedBytes) return this.#waitForDrain();
    if (this.#cursor <= journal.lastSeq) this.notify();
    else this.#reachedEnd();
  }

  #reachedEnd(): void {
    if (this.#caughtUp) return;
    this.#caughtUp = true;
    this.#onCaughtUp?.();
  }

  /** Ends the stream (idempotent). */
  end(reason: 'closed' | 'stalled' | 'shutdown'): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#stallTimer);
    if (reason === 'stalled') this.#res.destroy();
    else if (!this.#res.writableEnded) this.#res.end();
    this.#onEnd(reason);
  }

  #gap(from: number, to: number, reason: string): void {
    this.#res.write(gapFrame(from, to, reason));
    this.#counters.gaps++;
    this.#counters.skipped += to - from + 1;
    this.#cursor = to + 1;
  }

  #waitForDrain(): void {
    const res = this.#res;
    const stallTimeoutMs = this.#stallTimeoutMs;
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
