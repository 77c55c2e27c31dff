import type { Journal } from '../daemon/contract/index.ts';
import type { Logger } from '../daemon/log.ts';
import { errorText, exponentialBackoff } from '../daemon/util/index.ts';
import type { CursorState, CursorWriter } from './outbox-cursor.ts';
import { EventsPacker, type LostRange } from './events-packer.ts';

export { EVENTS_SCHEMA } from './events-packer.ts';
export type { LostRange } from './events-packer.ts';

/**
 * After the broker refused a batch, the outbox tries again this long after (the record stays first), one
 * batch at a time, doubling the wait up to RETRY_MAX_MS while it refuses: a topic its ACL closes would
 * otherwise take max_inflight batches every 5 s (gigabytes a day of a metered cellular link).
 */
const RETRY_MS = 5000;
const RETRY_MAX_MS = 5 * 60_000;
/** The cursor file is written at most this often while records are being acknowledged. */
const SAVE_EVERY_MS = 1000;
/**
 * Of the broker's Receive Maximum, what the outbox leaves to the link's other QoS 1 messages (acks, status,
 * sync offers, resends) so that together they never go over it.
 */
const RECEIVE_MAXIMUM_RESERVE = 4;
/** The most records one resend request from central sends again: it asks for the rest afterwards. */
export const MAX_RESEND_RECORDS = 10_000;

export interface OutboxOptions {
  journal: Journal;
  /** Publishes one events payload (UTF-8 JSON) at QoS 1; resolves once the broker acknowledged it. */
  publish: (payload: Buffer) => Promise<void>;
  robot: string;
  fleet: string;
  cursor: CursorState;
  writer: CursorWriter;
  batchRecords: number;
  batchBytes: number;
  maxInflight: number;
  /** The broker's Maximum Packet Size, once connected, if it named one. */
  maxPacketBytes: () => number | undefined;
  /** The broker's Receive Maximum, once connected, if it named one: the window stays under it. */
  receiveMaximum?: () => number | undefined;
  log: Logger;
}

interface Batch {
  first: number;
  last: number;
  records: number;
  state: 'pending' | 'acked' | 'failed';
  generation: number;
  error?: string;
}

/**
 * The outbox over the durable journal: every record goes up on the events topic, in seq order, at least
 * once, in batches of at most `batchRecords` records and `batchBytes` bytes (less where the broker's maximum
 * packet size is less). At most `maxInflight` batches (fewer where the broker's Receive Maximum is low) wait for
 * the broker's PUBACK; the cursor (`acked_seq`) moves over a batch only once it and every batch before it were
 * acknowledged, and is written to disk at most once a second, so after a crash some records go up again, never
 * none. The journal is the queue:
 * offline, nothing is held in memory, and retention keeps what the cursor has not passed (journalHold).
 * Seqs the journal no longer holds (deleted past journal.max_mb, or lost to a damaged segment) are reported
 * in the next batch as `lost`, and counted.
 */
export class Outbox {
  readonly #journal: Journal;
  readonly #writer: CursorWriter;
  readonly #maxInflight: number;
  readonly #publish: (payload: Buffer) => Promise<void>;
  readonly #receiveMaximum: () => number | undefined;
  readonly #log: Logger;
  /** Packs the journal's records into events payloads. */
  readonly #packer: EventsPacker;
  /** The journal the cursor is for: a new data dir's journal starts over. */
  readonly #journalId: string;
  #acked: number;
  #next: number;
  /** The highest seq the journal told us is durable: nothing past it goes up (see start()). */
  #durable = 0;
  #inflight: Batch[] = [];
  #generation = 0;
  #online = false;
  #closed = false;
  #unsubscribe: (() => void) | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  #lastError: string | undefined;
  #pendingLost: LostRange[] = [];
  /** Ranges central asked for again (records the cursor has passed), sent one batch at a time. */
  #resends: LostRange[] = [];
  #resending = false;
  /** Batches refused in a row (none acknowledged since); the last one's error. */
  #refusals = 0;
  #lastRefusal: string | undefined;
  readonly counts = {
    published_records: 0,
    published_batches: 0,
    acked_records: 0,
    lost_records: 0,
    omitted_records: 0,
    refused_batches: 0,
    resend_requests: 0,
    resent_records: 0,
  };

  constructor(options: OutboxOptions) {
    const { journal, writer, maxInflight, publish, maxPacketBytes, robot, fleet, log, batchRecords, batchBytes } =
      options;
    this.#journal = journal;
    this.#writer = writer;
    this.#maxInflight = maxInflight;
    this.#publish = publish;
    this.#receiveMaximum = options.receiveMaximum ?? (() => undefined);
    this.#log = log;
    this.#journalId = options.cursor.journal_id;
    this.#packer = new EventsPacker({
      journal,
      robot,
      fleet,
      journalId: this.#journalId,
      batchRecords,
      batchBytes,
      maxPacketBytes,
      onOmitted: () => this.counts.omitted_records++,
      log,
    });
    this.#acked = options.cursor.acked_seq;
    this.#next = this.#acked + 1;
  }

  get ackedSeq(): number {
    return this.#acked;
  }

  /** The journal the cursor is for: central keys every record by (robot, journal_id, seq). */
  get journalId(): string {
    return this.#journalId;
  }

  /** Records appended and not yet acknowledged by the broker. */
  get backlog(): number {
    return Math.max(0, this.#journal.lastSeq - this.#acked);
  }

  get inflight(): number {
    return this.#inflight.filter((b) => b.state === 'pending').length;
  }

  /** Why the last batch was refused, until one is acknowledged again; or why the cursor cannot be saved. */
  get lastError(): string | undefined {
    return this.#lastError ?? this.#writer.lastError;
  }

  /** The lowest seq the outbox still needs: journal retention keeps it (unless past journal.max_mb). */
  journalHold(): number {
    return this.#acked + 1;
  }

  /**
   * The journal serves records once written, before they are durable: one whose fsync then fails is dropped
   * and its seq given to the next record. Sent early, central would keep a record that never was under the
   * seq of one it then takes for a duplicate. So records go up only once the journal said they are durable
   * (it tells in seq order); those it held when the outbox started were read from disk at the daemon's start.
   */
  start(): void {
    this.#durable = this.#journal.lastSeq;
    this.#unsubscribe = this.#journal.subscribe((record) => {
      this.#durable = Math.max(this.#durable, record.seq);
      this.#pump();
    });
  }

  /** The link is up: send what waits. */
  online(): void {
    this.#online = true;
    this.#pump();
    void this.#drainResends();
  }

  /**
   * Central asks for seqs it has not got, though the broker acknowledged them: a batch lost between the broker
   * and central (a central process killed with messages in flight to it). Records the cursor has passed go up
   * again, in order, one batch at a time beside the outbox's own, at most MAX_RESEND_RECORDS a request;
   * seqs the journal no longer holds go as `lost`. Seqs past the cursor are left alone: they go up anyway.
   * Gives why nothing is sent, or undefined once queued.
   */
  resend(journalId: string, from: number, to: number): string | undefined {
    if (journalId !== this.#journalId)
      return `journal ${journalId} is not this robot's current journal (${this.#journalId})`;
    const end = Math.min(to, this.#acked, from + MAX_RESEND_RECORDS - 1);
    if (!(from >= 1) || end < from)
      return `nothing to send again in ${from}..${to} (acknowledged up to ${this.#acked})`;
    this.counts.resend_requests++;
    // Two central processes may ask for the same range: what is queued already is not queued twice.
    const queued = this.#resends.some((r) => r.from <= from && r.to >= end);
    if (!queued) this.#resends.push({ from, to: end });
    void this.#drainResends();
    return undefined;
  }

  async #drainResends(): Promise<void> {
    if (this.#resending) return;
    this.#resending = true;
    try {
      while (this.#online && !this.#closed && this.#resends.length > 0) {
        const range = this.#resends[0]!;
        const packed = this.#packer.pack(range.from, range.to);
        const lost = packed.gaps;
        if (lost.length > 0) this.counts.lost_records += lost.reduce((n, g) => n + g.to - g.from + 1, 0);
        await this.#publish(this.#packer.payload(packed, lost));
        this.counts.resent_records += packed.records.length;
        range.from = packed.last + 1;
        if (range.from > range.to) this.#resends.shift();
      }
    } catch {
      // Offline or refused: the range stays queued, and online() takes it up again.
    } finally {
      this.#resending = false;
    }
  }

  /** The link is down: publish nothing new; what is in flight stays with the MQTT client, sent again on reconnect. */
  offline(): void {
    this.#online = false;
  }

  /** Stops sending and writes the cursor as the broker's acknowledgements left it. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#online = false;
    this.#unsubscribe?.();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    await this.#writer.save(() => this.#cursor());
  }

  #cursor(): CursorState {
    return { journal_id: this.#journalId, acked_seq: this.#acked };
  }

  #pump(): void {
    if (!this.#online || this.#closed || this.#retryTimer !== undefined) return;
    const window = this.#refusals > 0 ? 1 : this.#window();
    while (this.inflight < window && this.#next <= this.#durable) {
      const built = this.#build();
      if (!built) break;
      const { batch, payload } = built;
      this.#inflight.push(batch);
      this.counts.published_batches++;
      this.counts.published_records += batch.records;
      this.#publish(payload).then(
        () => this.#settled(batch, 'acked'),
        (error: unknown) => this.#settled(batch, 'failed', errorText(error)),
      );
    }
  }

  /** max_inflight, within the broker's Receive Maximum less what the link's other messages may need. */
  #window(): number {
    const receive = this.#receiveMaximum();
    if (receive === undefined) return this.#maxInflight;
    return Math.max(1, Math.min(this.#maxInflight, receive - RECEIVE_MAXIMUM_RESERVE));
  }

  /** The next batch from #next, or undefined when the journal holds nothing more. */
  #build(): { batch: Batch; payload: Buffer } | undefined {
    const packed = this.#packer.packNext(this.#next, this.#durable);
    if (!packed) return undefined;
    for (const gap of packed.gaps) this.#lost(gap.from, gap.to);
    const lost = this.#pendingLost.splice(0);
    this.#next = packed.last + 1;
    const batch: Batch = {
      first: packed.first,
      last: packed.last,
      records: packed.records.length,
      state: 'pending',
      generation: this.#generation,
    };
    return { batch, payload: this.#packer.payload(packed, lost) };
  }

  #lost(from: number, to: number): void {
    const count = to - from + 1;
    this.counts.lost_records += count;
    this.#pendingLost.push({ from, to });
    this.#log.warn(
      { from, to, count },
      'central: journal records were gone before central got them (retention past journal.max_mb, or a damaged segment); central is told in the next batch',
    );
  }

  #settled(batch: Batch, state: 'acked' | 'failed', error?: string): void {
    if (batch.generation !== this.#generation || this.#closed) return; // sent before a rewind: a duplicate at most
    batch.state = state;
    batch.error = error;
    let moved = false;
    while (this.#inflight[0]?.state === 'acked') {
      const done = this.#inflight.shift()!;
      this.#acked = done.last;
      this.counts.acked_records += done.records;
      moved = true;
    }
    if (moved) {
      this.#lastError = undefined;
      this.#refusals = 0;
      this.#lastRefusal = undefined;
      this.#scheduleSave();
    }
    const head = this.#inflight[0];
    if (head?.state === 'failed') this.#rewind(head);
    else this.#pump();
  }

  /**
   * The broker refused a batch (or the client gave it up): everything from it on is sent again, after a
   * pause, in order. Later batches still in flight may be acknowledged meanwhile; they are sent again
   * anyway (at least once).
   */
  #rewind(failed: Batch): void {
    this.counts.refused_batches++;
    this.#refusals++;
    const delay = exponentialBackoff(this.#refusals - 1, { firstMs: RETRY_MS, maxMs: RETRY_MAX_MS });
    this.#lastError = `events ${failed.first}..${failed.last} were not taken by the broker (${failed.error}); sending again from ${this.#acked + 1} in ${delay / 1000} s`;
    // Once per streak of refusals (and when the broker's answer changes): health keeps saying it meanwhile.
    if (failed.error !== this.#lastRefusal)
      this.#log.warn(
        { first: failed.first, last: failed.last, err: failed.error, retry_in_s: delay / 1000 },
        'central: the broker did not take an events batch; it is sent again, with backoff while it refuses',
      );
    this.#lastRefusal = failed.error;
    this.#generation++;
    this.#inflight = [];
    this.#next = this.#acked + 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#pump();
    }, delay);
    this.#retryTimer.unref?.();
  }

  #scheduleSave(): void {
    if (this.#saveTimer !== undefined) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      void this.#writer.save(() => this.#cursor());
    }, SAVE_EVERY_MS);
    this.#saveTimer.unref?.();
  }
}
