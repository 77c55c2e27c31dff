import type { Journal, JournalRecord } from '../daemon/contract/index.ts';
import type { Logger } from '../daemon/log.ts';

/** The events payload's schema name: central can tell versions apart. */
export const EVENTS_SCHEMA = 'auraison.events/1';

/** Bytes of an events payload outside its records (header, brackets) and of the MQTT packet around it. */
const ENVELOPE_BYTES = 1024;

/** A run of seqs the journal no longer holds when the outbox came to them: lost before central got them. */
export interface LostRange {
  from: number;
  to: number;
}

/** Records packed for one events payload: seqs first..last, the gaps in them, the records' texts. */
export interface Packed {
  first: number;
  last: number;
  texts: string[];
  gaps: LostRange[];
}

export interface EventsPackerOptions {
  journal: Journal;
  robot: string;
  fleet: string;
  /** The journal the outbox's cursor is for. */
  journalId: string;
  batchRecords: number;
  batchBytes: number;
  /** The broker's Maximum Packet Size, once connected, if it named one. */
  maxPacketBytes: () => number | undefined;
  /** A record too large for the broker went up as its head only. */
  onOmitted: () => void;
  log: Logger;
}

/**
 * Packs the journal's records into events payloads: in seq order, at most `batchRecords` records and `batchBytes`
 * bytes (less where the broker's maximum packet size is less), the seqs the journal no longer holds as gaps.
 */
export class EventsPacker {
  readonly #journal: Journal;
  readonly #robot: string;
  readonly #fleet: string;
  readonly #journalId: string;
  readonly #batchRecords: number;
  readonly #batchBytes: number;
  readonly #maxPacketBytes: () => number | undefined;
  readonly #onOmitted: () => void;
  readonly #log: Logger;

  constructor({
    journal,
    robot,
    fleet,
    journalId,
    batchRecords,
    batchBytes,
    maxPacketBytes,
    onOmitted,
    log,
  }: EventsPackerOptions) {
    this.#journal = journal;
    this.#robot = robot;
    this.#fleet = fleet;
    this.#journalId = journalId;
    this.#batchRecords = batchRecords;
    this.#batchBytes = batchBytes;
    this.#maxPacketBytes = maxPacketBytes;
    this.#onOmitted = onOmitted;
    this.#log = log;
  }

  /**
   * Records from `first` on, up to `end`, as many as one batch takes (records and bytes, within the broker's
   * maximum packet size); seqs the journal no longer holds are `gaps`. When the journal holds none of
   * first..end, the whole range is one gap.
   */
  pack(first: number, end: number): Packed {
    return this.#pack(first, end, this.texts(first, this.#batchRecords));
  }

  /**
   * As pack(), or undefined while the journal holds no record from `first` up to `end`: the outbox's next batch,
   * read from the journal once.
   */
  packNext(first: number, end: number): Packed | undefined {
    const read = this.texts(first, this.#batchRecords);
    if (read.length === 0 || read[0]!.seq > end) return undefined;
    return this.#pack(first, end, read);
  }

  #pack(first: number, end: number, read: { seq: number; text: string }[]): Packed {
    const records = read.filter((r) => r.seq <= end);
    if (records.length === 0) return { first, last: end, texts: [], gaps: [{ from: first, to: end }] };
    const maxRecordBytes = Math.max(1024, (this.#maxPacketBytes() ?? Number.MAX_SAFE_INTEGER) - ENVELOPE_BYTES);
    // A batch over the broker's maximum packet size is answered with DISCONNECT, and the client sends it
    // again first at every reconnect: the link would never come up again.
    const maxBatchBytes = Math.min(this.#batchBytes, maxRecordBytes);
    const texts: string[] = [];
    const gaps: LostRange[] = [];
    let bytes = 0;
    let expected = first;
    let last = first - 1;
    for (const record of records) {
      let text = record.text;
      if (Buffer.byteLength(text) > maxRecordBytes) text = this.#omitted(JSON.parse(text) as JournalRecord, text);
      const size = Buffer.byteLength(text) + 1;
      if (texts.length > 0 && bytes + size > maxBatchBytes) break;
      if (record.seq > expected) gaps.push({ from: expected, to: record.seq - 1 });
      texts.push(text);
      bytes += size;
      last = record.seq;
      expected = record.seq + 1;
    }
    return { first, last, texts, gaps };
  }

  /**
   * Up to `limit` records from `first` (within batch_bytes) as JSON text: as the journal holds them when it
   * keeps text (no parse, no second stringify), else read and serialized here.
   */
  texts(first: number, limit: number): { seq: number; text: string }[] {
    const journal = this.#journal;
    if (journal.readTexts) return journal.readTexts(first, limit, this.#batchBytes);
    return journal.read(first, limit).map((record) => ({ seq: record.seq, text: JSON.stringify(record) }));
  }

  payload(packed: Packed, lost: LostRange[]): string {
    const header = {
      schema: EVENTS_SCHEMA,
      robot: this.#robot,
      fleet: this.#fleet,
      journal_id: this.#journalId,
      first_seq: packed.first,
      last_seq: packed.last,
      ...(lost.length > 0 ? { lost } : {}),
    };
    return `${JSON.stringify(header).slice(0, -1)},"records":[${packed.texts.join(',')}]}`;
  }

  /** A record larger than the broker takes goes up as its head only, saying so, rather than stopping the outbox. */
  #omitted(record: JournalRecord, text: string): string {
    this.#onOmitted();
    const bytes = Buffer.byteLength(text);
    this.#log.warn(
      { seq: record.seq, kind: record.kind, bytes },
      "central: a journal record is larger than the broker's maximum packet size; sent without its data",
    );
    return JSON.stringify({
      seq: record.seq,
      ts: record.ts,
      kind: record.kind,
      omitted: `${bytes} bytes, over the broker's maximum packet size; read it on the robot (auraison-edge runs show)`,
    });
  }
}
