import type { FileHandle } from 'node:fs/promises';
import type { DecompressHandlers } from '@mcap/core';
import {
  channelRecord,
  chunkRecordSpans,
  Fields,
  KNOWN_MAX,
  MAGIC,
  Op,
  openChunk,
  schemaRecord,
  type McapChannel,
  type McapSchema,
} from './mcap-records.ts';
import { errorText } from '../util/index.ts';

/**
 * What a recovery reads out of a file, in file order; byte fields are views into buffers that are never
 * reused. Messages are not checked against the channels read.
 */
export type RecoveredRecord =
  | { type: 'schema'; schema: McapSchema }
  | { type: 'channel'; channel: McapChannel }
  | { type: 'message'; channelId: number; logTime: bigint; publishTime: bigint; data: Uint8Array }
  | { type: 'metadata'; name: string; metadata: Map<string, string> };

/** A stretch of a file no record could be read from, and why. */
export interface McapDamage {
  offset: number;
  length: number;
  problem: string;
  /**
   * The stretch is only an index or summary record, damaged or cut off by the end of the file: nothing a rewrite needs.
   */
  indexOnly?: boolean;
}

export interface McapRecovery {
  /** The file is whole: magic, header, records, footer and closing magic, every chunk CRC checking. */
  complete: boolean;
  /** The magic and the Header record were read. */
  header: boolean;
  /** Stretches that were skipped, in file order. */
  damage: McapDamage[];
  /** Attachment records passed over (they are not read out). */
  attachments: number;
}

const WINDOW = 4 * 1024 * 1024;
/**
 * Records derived from the others (message and chunk indexes, attachment and metadata indexes, statistics, summary
 * offsets, data end): a rewrite writes its own.
 */
const DERIVED = new Set([0x07, 0x08, 0x0a, 0x0b, 0x0d, 0x0e, 0x0f]);
/** A chunk's fields before its compression string: start and end time, uncompressed size, CRC, string length. */
const CHUNK_HEAD = 8 + 8 + 8 + 4 + 4;

/**
 * Reads every record of an MCAP file that can still be read, in file order, handing each to `visit`.
 * Where a record is damaged (the magic, a length that runs past the end, a chunk whose CRC fails, a
 * record that doesn't parse), it looks at every later byte for the start of a Chunk record that checks
 * in full (a length that fits, a known compression, a CRC that matches, records that parse), as
 * `mcap recover` does, and reads on from there. What it skipped is listed in `damage`.
 */
export async function recoverMcap(
  fh: FileHandle,
  size: number,
  decompress: DecompressHandlers,
  visit: (record: RecoveredRecord) => void | Promise<void>,
): Promise<McapRecovery> {
  return new Recovery(fh, size, decompress).run(visit);
}

/** Records a recovery reads out and hands on (the others are derived, or not ours to carry). */
const WANTED = new Set<number>([Op.HEADER, Op.FOOTER, Op.SCHEMA, Op.CHANNEL, Op.MESSAGE, Op.METADATA]);

/** One recovery of a file: `run` once. */
class Recovery {
  readonly #file: Window;
  readonly #size: number;
  readonly #decompress: DecompressHandlers;
  /** The chunk compressions that can be read here ('' is none). */
  readonly #known: Set<string>;
  readonly #result: McapRecovery = { complete: false, header: false, damage: [], attachments: 0 };

  constructor(fh: FileHandle, size: number, decompress: DecompressHandlers) {
    this.#file = new Window(fh, size);
    this.#size = size;
    this.#decompress = decompress;
    this.#known = new Set(['', ...Object.keys(decompress)]);
  }

  async run(visit: (record: RecoveredRecord) => void | Promise<void>): Promise<McapRecovery> {
    const result = this.#result;
    const size = this.#size;
    if (!(await this.#checkMagic())) return result;
    let pos = 8;
    while (pos < size) {
      if (size - pos < 9) {
        const cut = await this.#file.bytes(pos, 1);
        result.damage.push({
          offset: pos,
          length: size - pos,
          problem: `it ends at byte ${size} inside a record`,
          ...(DERIVED.has(cut[0]!) ? { indexOnly: true } : {}),
        });
        break;
      }
      pos = await this.#recordAt(pos, visit);
    }
    return result;
  }

  /** Whether reading goes on after the magic: damage is noted, and only a file of 8 bytes or less ends here. */
  async #checkMagic(): Promise<boolean> {
    const size = this.#size;
    const magic = await this.#file.bytes(0, Math.min(8, size));
    if (magic.length >= 8 && MAGIC.every((b, i) => magic[i] === b)) return true;
    if (size <= 8) {
      this.#result.damage.push({
        offset: 0,
        length: size,
        problem: size === 0 ? 'the file is empty' : 'no MCAP magic at its start',
      });
      return false;
    }
    this.#result.damage.push({ offset: 0, length: 8, problem: 'no MCAP magic at its start' });
    return true;
  }

  /** Reads the record at `pos`, handing what it holds to `visit`; returns where reading goes on. */
  async #recordAt(pos: number, visit: (record: RecoveredRecord) => void | Promise<void>): Promise<number> {
    const result = this.#result;
    const size = this.#size;
    const head = await this.#file.bytes(pos, 9);
    const opcode = head[0]!;
    const length64 = new DataView(head.buffer, head.byteOffset, 9).getBigUint64(1, true);
    if (length64 > BigInt(size - pos - 9)) {
      const next = await this.#resync(
        pos,
        `a record of ${length64} bytes runs past the end of the file (${size} bytes)`,
      );
      // Cut off by the end of the file, and no chunk after its start: the file ends inside it.
      if (next === size && DERIVED.has(opcode)) result.damage.at(-1)!.indexOnly = true;
      return next;
    }
    if (opcode === 0 || (opcode > KNOWN_MAX && opcode < 0x80))
      return this.#resync(pos, `no record has opcode ${opcode}`);
    // A damaged opcode would otherwise read the header's fields as another record (as a message, say).
    if (pos === 8 && opcode !== Op.HEADER)
      return this.#resync(pos, `a record of opcode ${opcode} where the Header record should be`);
    const length = Number(length64);
    const end = pos + 9 + length;
    if (opcode === Op.CHUNK) {
      const chunk = await this.#chunkAt(pos, true);
      if ('problem' in chunk) return this.#resync(pos, chunk.problem);
      for (const r of chunk.records) await visit(r);
      return end;
    }
    if (DERIVED.has(opcode)) {
      // Not carried (a rewrite writes its own), but checked: a damaged index is a file that is not whole.
      const problem = derivedRecordProblem(opcode, await this.#file.bytes(pos + 9, length));
      if (problem) result.damage.push({ offset: pos, length: 9 + length, problem, indexOnly: true });
      return end;
    }
    if (!WANTED.has(opcode)) {
      // Attachments and private records: not ours to carry.
      if (opcode === Op.ATTACHMENT) result.attachments++;
      return end;
    }
    const body = await this.#file.bytes(pos + 9, length);
    let record: RecoveredRecord | undefined;
    try {
      if (opcode === Op.FOOTER) {
        await this.#checkFooter(body, end);
        return size;
      }
      record = this.#readRecord(opcode, body, pos);
    } catch (error) {
      return this.#resync(pos, errorText(error));
    }
    if (record) await visit(record);
    return end;
  }

  /** A Header, Schema, Channel, Metadata or Message record's body, read; throws when it doesn't parse. */
  #readRecord(opcode: number, body: Uint8Array, pos: number): RecoveredRecord | undefined {
    const f = new Fields(body, 0, body.length);
    let record: RecoveredRecord | undefined;
    if (opcode === Op.HEADER) {
      if (pos !== 8) throw new Error('a Header record after the start of the file');
      f.string();
      f.string();
      this.#result.header = this.#result.damage.length === 0;
    } else if (opcode === Op.SCHEMA) record = { type: 'schema', schema: schemaRecord(f) };
    else if (opcode === Op.CHANNEL) record = { type: 'channel', channel: channelRecord(f) };
    else if (opcode === Op.METADATA) record = { type: 'metadata', name: f.string(), metadata: f.stringMap() };
    else {
      const channelId = f.u16();
      f.u32();
      const logTime = f.u64();
      const publishTime = f.u64();
      record = { type: 'message', channelId, logTime, publishTime, data: body.subarray(f.at) };
    }
    if (f.at !== f.end && opcode !== Op.MESSAGE)
      throw new Error(`${f.end - f.at} bytes left over at the end of a record`);
    return record;
  }

  /** The Footer, the closing magic right after it, and nothing more: then the file is whole if nothing was skipped. */
  async #checkFooter(body: Uint8Array, end: number): Promise<void> {
    const size = this.#size;
    const f = new Fields(body, 0, body.length);
    f.u64();
    f.u64();
    f.u32();
    const closing = await this.#file.bytes(end, Math.min(8, size - end));
    if (closing.length < 8 || MAGIC.some((b, i) => closing[i] !== b)) throw new Error('no MCAP magic after the footer');
    if (end + 8 !== size) throw new Error(`${size - end - 8} bytes after the footer and closing magic`);
    this.#result.complete = this.#result.header && this.#result.damage.length === 0;
  }

  /** A Chunk record at `at` that checks in full, as its records; undefined (with why) when it doesn't. */
  async #chunkAt(
    at: number,
    strict: boolean,
  ): Promise<{ records: RecoveredRecord[]; end: number } | { problem: string }> {
    const file = this.#file;
    const size = this.#size;
    const head = await file.bytes(at, Math.min(9 + CHUNK_HEAD, size - at));
    if (head.length < 9 + CHUNK_HEAD || head[0] !== Op.CHUNK) return { problem: 'not a chunk' };
    const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const length = v.getBigUint64(1, true);
    if (length > BigInt(size - at - 9))
      return { problem: `a record of ${length} bytes runs past the end of the file (${size} bytes)` };
    if (!strict) {
      // Cheap checks first, so a byte 0x06 in the middle of other data is passed over without reading on.
      const start = v.getBigUint64(9, true);
      const end = v.getBigUint64(17, true);
      const nameLength = v.getUint32(9 + 28, true);
      if (start > end || nameLength > 16 || Number(length) < CHUNK_HEAD + nameLength + 8)
        return { problem: 'not a chunk' };
      const tail = await file.bytes(at + 9 + CHUNK_HEAD, nameLength + 8);
      const name = new TextDecoder().decode(tail.subarray(0, nameLength));
      const recordsLength = new DataView(tail.buffer, tail.byteOffset, tail.byteLength).getBigUint64(nameLength, true);
      if (!this.#known.has(name) || recordsLength !== length - BigInt(CHUNK_HEAD + nameLength + 8))
        return { problem: 'not a chunk' };
      if (name === '' && v.getBigUint64(25, true) !== recordsLength) return { problem: 'not a chunk' };
    }
    const body = await file.bytes(at + 9, Number(length));
    try {
      const records = openChunk(body, 0, body.length, this.#decompress);
      return { records: chunkRecords(records), end: at + 9 + Number(length) };
    } catch (error) {
      return { problem: errorText(error) };
    }
  }

  /** Skips damage from `from` to the next chunk that checks; returns where reading goes on (size when none). */
  async #resync(from: number, problem: string): Promise<number> {
    const file = this.#file;
    for (let at = await file.indexOf(Op.CHUNK, from + 1); at >= 0; at = await file.indexOf(Op.CHUNK, at + 1)) {
      const chunk = await this.#chunkAt(at, false);
      if ('records' in chunk) {
        this.#result.damage.push({ offset: from, length: at - from, problem });
        return at;
      }
    }
    this.#result.damage.push({ offset: from, length: this.#size - from, problem });
    return this.#size;
  }
}

/** The schemas, channels and messages of a chunk's (decompressed) records. Throws when they don't parse. */
function chunkRecords(records: Uint8Array): RecoveredRecord[] {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const spans = chunkRecordSpans(records);
  const out: RecoveredRecord[] = [];
  for (let i = 0; i < spans.length; i += 3) {
    const [op, at, end] = [spans[i]!, spans[i + 1]!, spans[i + 2]!];
    if (op === Op.MESSAGE)
      out.push({
        type: 'message',
        channelId: view.getUint16(at, true),
        logTime: view.getBigUint64(at + 6, true),
        publishTime: view.getBigUint64(at + 14, true),
        data: records.subarray(at + 22, end),
      });
    else if (op === Op.SCHEMA) out.push({ type: 'schema', schema: schemaRecord(new Fields(records, at, end)) });
    else out.push({ type: 'channel', channel: channelRecord(new Fields(records, at, end)) });
  }
  return out;
}

/** Why an index, statistics, summary offset or data end record doesn't parse, or undefined when it does. */
function derivedRecordProblem(opcode: number, body: Uint8Array): string | undefined {
  const f = new Fields(body, 0, body.length);
  const entries = (size: number): void => {
    const n = f.u32();
    if (n % size !== 0) throw new Error(`a list of ${n} bytes is not whole entries of ${size}`);
    f.bytesOf(n);
  };
  try {
    if (opcode === 0x07) {
      f.u16();
      entries(16);
    } else if (opcode === 0x08) {
      [0, 1, 2, 3].forEach(() => f.u64());
      entries(10);
      f.u64();
      f.string();
      f.u64();
      f.u64();
    } else if (opcode === 0x0a) {
      [0, 1, 2, 3, 4].forEach(() => f.u64());
      f.string();
      f.string();
    } else if (opcode === 0x0b) {
      f.u64();
      f.u16();
      [0, 1, 2, 3].forEach(() => f.u32());
      f.u64();
      f.u64();
      entries(10);
    } else if (opcode === 0x0d) {
      f.u64();
      f.u64();
      f.string();
    } else if (opcode === 0x0e) {
      f.bytesOf(1);
      f.u64();
      f.u64();
    } else {
      f.u32();
    }
  } catch (error) {
    return `a damaged index or summary record (opcode ${opcode}): ${errorText(error)}`;
  }
  return f.at === f.end
    ? undefined
    : `a damaged index or summary record (opcode ${opcode}): ${f.end - f.at} bytes left over`;
}

/** Positional reads of a file through a window of WINDOW bytes, so small records cost no read each. */
class Window {
  #fh: FileHandle;
  #size: number;
  #base = 0;
  #buf = new Uint8Array(0);

  constructor(fh: FileHandle, size: number) {
    this.#fh = fh;
    this.#size = size;
  }

  /** `n` bytes from `at` (fewer at the end of the file): a view into a buffer that is never reused. */
  async bytes(at: number, n: number): Promise<Uint8Array> {
    n = Math.max(0, Math.min(n, this.#size - at));
    if (at < this.#base || at + n > this.#base + this.#buf.length) await this.#load(at, Math.max(n, WINDOW));
    return this.#buf.subarray(at - this.#base, at - this.#base + n);
  }

  /** The offset of the next byte `value` at or after `from`, or -1. */
  async indexOf(value: number, from: number): Promise<number> {
    for (let at = from; at < this.#size; at = this.#base + this.#buf.length) {
      await this.bytes(at, 1);
      const i = this.#buf.indexOf(value, at - this.#base);
      if (i >= 0) return this.#base + i;
    }
    return -1;
  }

  async #load(at: number, n: number): Promise<void> {
    const length = Math.min(n, this.#size - at);
    const buf = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.#fh.read(buf, filled, length - filled, at + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.#base = at;
    this.#buf = buf.subarray(0, filled);
  }
}
