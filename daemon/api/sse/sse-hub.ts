import type { ServerResponse } from 'node:http';
import type { Journal, MetricFamily } from '../../contract/index.ts';
import { FrameRing } from './frame-ring.ts';
import { JournalStream } from './journal-stream.ts';
import { ReplayReader } from './replay-reader.ts';
import { recordFrame, sseHeaders } from './sse-frame.ts';
import { counter, counterBy, gauge } from '../../util/index.ts';

export interface SseHubOptions {
  journal: Journal;
  maxBufferedBytes: number;
  maxLag: number;
  stallTimeoutMs: number;
  heartbeatMs: number;
  /** Clients connected at once; one more is refused (see refusal). */
  maxClients: number;
  /** Clients replaying records older than the ring of recent frames at once; one more is refused. */
  maxReplays: number;
}

/** Why a client is not let in now, and when to try again. */
export interface Refusal {
  message: string;
  retryAfterS: number;
}

export interface OpenOptions {
  /** The last seq the client has (Last-Event-ID); undefined starts live, at the journal's end. */
  lastEventId?: number;
  kinds?: ReadonlySet<string>;
}

/**
 * Every SSE client of the journal. It subscribes to the journal once, formats each new record once into a
 * bounded ring of frames, and wakes the clients; each client then writes at its own pace (JournalStream).
 */
export class SseHub {
  readonly #heartbeatMs: number;
  readonly #journal: Journal;
  readonly #maxClients: number;
  readonly #maxReplays: number;
  readonly #maxBufferedBytes: number;
  readonly #maxLag: number;
  readonly #stallTimeoutMs: number;
  #ring = new FrameRing();
  #replay: ReplayReader;
  #streams = new Set<JournalStream>();
  #replaying = new Set<JournalStream>();
  #refused = { clients: 0, replays: 0 };
  #unsubscribe: () => void;
  #heartbeat: NodeJS.Timeout;
  #counters = { sent: 0, gaps: 0, skipped: 0 };
  #ended = { closed: 0, stalled: 0, shutdown: 0 };
  #opened = 0;

  constructor(options: SseHubOptions) {
    const { heartbeatMs, journal, maxClients, maxReplays, maxBufferedBytes, maxLag, stallTimeoutMs } = options;
    this.#heartbeatMs = heartbeatMs;
    this.#journal = journal;
    this.#maxClients = maxClients;
    this.#maxReplays = maxReplays;
    this.#maxBufferedBytes = maxBufferedBytes;
    this.#maxLag = maxLag;
    this.#stallTimeoutMs = stallTimeoutMs;
    this.#replay = new ReplayReader({ journal: options.journal });
    this.#unsubscribe = options.journal.subscribe((record) => {
      this.#ring.put({ seq: record.seq, kind: record.kind, frame: recordFrame(record) });
      for (const s of this.#streams) s.notify();
    });
    this.#heartbeat = setInterval(() => {
      for (const s of this.#streams) s.heartbeat();
    }, options.heartbeatMs);
    this.#heartbeat.unref();
  }

  get heartbeatMs(): number {
    return this.#heartbeatMs;
  }

  get clients(): number {
    return this.#streams.size;
  }

  /** Journal reads made for replaying clients (shared: one per slice, not one per client). */
  get replayReads(): number {
    return this.#replay.reads;
  }

  /**
   * Why a client asking for `options` cannot be let in now (undefined: it can). Each client may hold
   * max_buffered_bytes of the daemon's memory, and a replay reads the journal: both are capped, so no
   * number of clients can take the memory or the event loop that the operator's stop needs.
   */
  refusal(options: OpenOptions = {}): Refusal | undefined {
    if (this.#streams.size >= this.#maxClients) {
      this.#refused.clients++;
      const message = `${this.#streams.size} event stream clients are connected, the most api.events.max_clients allows`;
      return { message, retryAfterS: Math.max(1, Math.ceil(this.#heartbeatMs / 1000)) };
    }
    if (this.#replaying.size >= this.#maxReplays && this.#needsReplay(this.#fromSeq(options.lastEventId))) {
      this.#refused.replays++;
      const message = `${this.#replaying.size} clients are replaying the journal, the most api.events.max_replays allows`;
      return { message, retryAfterS: 1 };
    }
    return undefined;
  }

  /** Writes the SSE headers on `res` and starts streaming into it. */
  open(res: ServerResponse, options: OpenOptions = {}): JournalStream {
    const journal = this.#journal;
    const last = journal.lastSeq;
    // An id past the journal's end means the journal is not the one the client read (a new data dir).
    const ahead = options.lastEventId !== undefined && options.lastEventId > last;
    const fromSeq = this.#fromSeq(options.lastEventId);
    res.writeHead(200, sseHeaders(this.#heartbeatMs));
    res.write(`retry: 2000\n: journal at seq ${last}\n\n`);
    if (ahead)
      res.write(
        `event: reset\ndata: ${JSON.stringify({ last_event_id: options.lastEventId, journal_last_seq: last, reason: 'Last-Event-ID is past the journal end; streaming from its end' })}\n\n`,
      );
    const stream: JournalStream = new JournalStream({
      journal,
      ring: this.#ring,
      replay: this.#replay,
      res,
      fromSeq,
      kinds: options.kinds,
      maxBufferedBytes: this.#maxBufferedBytes,
      maxLag: this.#maxLag,
      stallTimeoutMs: this.#stallTimeoutMs,
      counters: this.#counters,
      onCaughtUp: () => this.#replaying.delete(stream),
      onEnd: (reason) => {
        this.#streams.delete(stream);
        this.#replaying.delete(stream);
        this.#ended[reason]++;
      },
    });
    this.#streams.add(stream);
    if (this.#needsReplay(fromSeq)) this.#replaying.add(stream);
    this.#opened++;
    stream.pump();
    return stream;
  }

  /** The first seq a client with this Last-Event-ID is sent. */
  #fromSeq(lastEventId: number | undefined): number {
    const last = this.#journal.lastSeq;
    return lastEventId === undefined || lastEventId > last ? last + 1 : lastEventId + 1;
  }

  /** A client starting at `fromSeq` reads the journal, not only the ring of recent frames. */
  #needsReplay(fromSeq: number): boolean {
    return fromSeq <= this.#journal.lastSeq && !this.#ring.get(fromSeq);
  }

  streams(): JournalStream[] {
    return [...this.#streams];
  }

  close(): void {
    this.#unsubscribe();
    clearInterval(this.#heartbeat);
    for (const s of [...this.#streams]) s.end('shutdown');
  }

  metrics(): MetricFamily[] {
    let buffered = 0;
    for (const s of this.#streams) buffered += s.buffered;
    return [
      gauge('auraison_sse_clients', 'SSE clients of GET /events now connected.', this.#streams.size),
      counter('auraison_sse_connections_total', 'SSE connections opened.', this.#opened),
      counter('auraison_sse_events_sent_total', 'Journal records written to SSE clients.', this.#counters.sent),
      counter(
        'auraison_sse_gaps_total',
        'Gap events: a client skipped ahead (too slow, or records no longer in the journal).',
        this.#counters.gaps,
      ),
      counter('auraison_sse_skipped_records_total', 'Records SSE clients skipped in gaps.', this.#counters.skipped),
      counterBy(
        'auraison_sse_disconnects_total',
        'SSE streams ended, by reason (stalled: cut off for reading nothing).',
        'reason',
        this.#ended,
      ),
      gauge(
        'auraison_sse_replays',
        'SSE clients now replaying journal records older than the recent ones held in memory.',
        this.#replaying.size,
      ),
      counterBy(
        'auraison_sse_refused_total',
        'SSE clients answered 503 with Retry-After, by the cap they met (api.events.max_clients, max_replays).',
        'cap',
        this.#refused,
      ),
      gauge('auraison_sse_buffered_bytes', 'Bytes written to SSE clients and not yet read by them.', buffered),
    ];
  }
}
