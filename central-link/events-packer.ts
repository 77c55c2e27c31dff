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

/**
 * Records packed for one events payload: seqs first..last, the gaps in them, each record's JSON as UTF-8 (views
 * the journal's next read may reuse: make the payload before reading again).
 */
export interface Packed {
  first: number;
  last: number;
  records: Buffer[];
  gaps: LostRange[];
}

const RECORDS_OPEN = ',"records":[';
const RECORDS_CLOSE = ']}';
const COMMA = 0x2c;

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
    return this.#pack(first, end, this.#read(first));
  }

  /**
   * As pack(), or undefined while the journal holds no record from `first` up to `end`: the outbox's next batch,
   * read from the journal once.
   */
  packNext(first: number, end: number): Packed | undefined {
    const read = this.#read(first);
    if (read.length === 0 || read[0]!.seq > end) return undefined;
    return this.#pack(first, end, read);
  }

  #pack(first: number, end: number, read: { seq: number; bytes: Buffer }[]): Packed {
    const records = read.filter((r) => r.seq <= end);
    if (records.length === 0) return { first, last: end, records: [], gaps: [{ from: first, to: end }] };
    const maxRecordBytes = Math.max(1024, (this.#maxPacketBytes() ?? Number.MAX_SAFE_INTEGER) - ENVELOPE_BYTES);
    // A batch over the broker's maximum packet size is answered with DISCONNECT, and the client sends it
    // again first at every reconnect: the link would never come up again.
    const maxBatchBytes = Math.min(this.#batchBytes, maxRecordBytes);
    const out: Buffer[] = [];
    const gaps: LostRange[] = [];
    let bytes = 0;
    let expected = first;
    let last = first - 1;
    for (const record of records) {
      let json = record.bytes;
      if (json.length > maxRecordBytes) json = this.#omitted(json);
      const size = json.length + 1;
      if (out.length > 0 && bytes + size > maxBatchBytes) break;
      if (record.seq > expected) gaps.push({ from: expected, to: record.seq - 1 });
      out.push(json);
      bytes += size;
      last = record.seq;
      expected = record.seq + 1;
    }
    return { first, last, records: out, gaps };
  }

  /**
   * Up to batch_records records from `first` (within batch_bytes) as JSON bytes: as the journal holds them when
   * it keeps JSON (no decoding, no parse, no second stringify), else read and serialized here.
   */
  #read(first: number): { seq: number; bytes: Buffer }[] {
    const journal = this.#journal;
    if (journal.readRaw) return journal.readRaw(first, this.#batchRecords, this.#batchBytes);
    return journal
      .read(first, this.#batchRecords)
      .map((record) => ({ seq: record.seq, bytes: Buffer.from(JSON.stringify(record)) }));
  }

  /**
   * The events payload: its header's JSON, then the records' JSON bytes copied in as the journal holds them,
   * in one buffer (the text is never decoded to a string and encoded again for the wire).
   */
  payload(packed: Packed, lost: LostRange[]): Buffer {
    const header = {
      schema: EVENTS_SCHEMA,
      robot: this.#robot,
      fleet: this.#fleet,
      journal_id: this.#journalId,
      first_seq: packed.first,
      last_seq: packed.last,
      ...(lost.length > 0 ? { lost } : {}),
    };
    const head = `${JSON.stringify(header).slice(0, -1)}${RECORDS_OPEN}`;
    const headBytes = Buffer.byteLength(head);
    let size = headBytes + RECORDS_CLOSE.length + Math.max(0, packed.records.length - 1);
    for (const record of packed.records) size += record.length;
    const out = Buffer.allocUnsafe(size);
    let at = out.write(head, 0, 'utf8');
    for (const [i, record] of packed.records.entries()) {
      if (i > 0) out[at++] = COMMA;
      out.set(record, at);
      at += record.length;
    }
    out.write(RECORDS_CLOSE, at, 'utf8');
    return out;
  }

  /** A record larger than the broker takes goes up as its head only, saying so, rather than stopping the outbox. */
  #omitted(json: Buffer): Buffer {
    this.#onOmitted();
    const record = JSON.parse(json.toString('utf8')) as JournalRecord;
    const bytes = json.length;
    this.#log.warn(
      { seq: record.seq, kind: record.kind, bytes },
      "central: a journal record is larger than the broker's maximum packet size; sent without its data",
    );
    return Buffer.from(
      JSON.stringify({
        seq: record.seq,
        ts: record.ts,
        kind: record.kind,
        omitted: `${bytes} bytes, over the broker's maximum packet size; read it on the robot (auraison-edge runs show)`,
      }),
    );
  }
}
