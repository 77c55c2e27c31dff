import type { DecompressHandlers } from '@mcap/core';
import { crc32 } from '../util/index.ts';

/** The 8 bytes an MCAP file starts and ends with. */
export const MAGIC = [0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a];

export const Op = {
  HEADER: 0x01,
  FOOTER: 0x02,
  SCHEMA: 0x03,
  CHANNEL: 0x04,
  MESSAGE: 0x05,
  CHUNK: 0x06,
  ATTACHMENT: 0x09,
  METADATA: 0x0c,
  DATA_END: 0x0f,
} as const;

/** The highest opcode the spec defines: a record inside a chunk at or below it must be a schema, channel or message. */
export const KNOWN_MAX = 0x0f;

export interface McapSchema {
  id: number;
  name: string;
  encoding: string;
  data: Uint8Array;
}

export interface McapChannel {
  id: number;
  schemaId: number;
  topic: string;
  messageEncoding: string;
  metadata: Map<string, string>;
}

/** A record that doesn't parse: `at` is where in `bytes` the problem lies, so a reader can name the file offset. */
export class RecordError extends Error {
  readonly bytes: Uint8Array;
  readonly at: number;
  constructor(message: string, bytes: Uint8Array, at: number) {
    super(message);
    this.bytes = bytes;
    this.at = at;
  }
}

/** Reads fields of one record, checking every read against the record's end. Throws RecordError. */
export class Fields {
  view: DataView;
  bytes: Uint8Array;
  at: number;
  end: number;
  constructor(bytes: Uint8Array, at: number, end: number) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = at;
    this.end = end;
  }
  #need(n: number, what: string): number {
    const at = this.at;
    if (at + n > this.end) throw new RecordError(`${what} runs past the end of its record`, this.bytes, at);
    this.at = at + n;
    return at;
  }
  u16(): number {
    return this.view.getUint16(this.#need(2, 'a uint16'), true);
  }
  u32(): number {
    return this.view.getUint32(this.#need(4, 'a uint32'), true);
  }
  u64(): bigint {
    return this.view.getBigUint64(this.#need(8, 'a uint64'), true);
  }
  length64(): number {
    const at = this.at;
    const n = this.u64();
    if (n > BigInt(this.end - this.at))
      throw new RecordError(`a length of ${n} runs past the end of its record`, this.bytes, at);
    return Number(n);
  }
  bytesOf(n: number): Uint8Array {
    const at = this.#need(n, 'a byte field');
    return this.bytes.subarray(at, at + n);
  }
  string(): string {
    const bytes = this.bytesOf(this.u32());
    try {
      return decoder.decode(bytes);
    } catch {
      throw new RecordError(
        `a string field of ${bytes.length} bytes is not valid UTF-8`,
        this.bytes,
        this.at - bytes.length,
      );
    }
  }
  /** A map<string, string> field (a uint32 byte length, then key-value pairs). */
  stringMap(): Map<string, string> {
    const at = this.at;
    const mapEnd = this.u32() + this.at;
    if (mapEnd > this.end) throw new RecordError('a map field runs past the end of its record', this.bytes, at);
    const map = new Map<string, string>();
    const saved = this.end;
    this.end = mapEnd;
    while (this.at < mapEnd) map.set(this.string(), this.string());
    this.end = saved;
    return map;
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export function schemaRecord(f: Fields): McapSchema {
  const id = f.u16();
  const name = f.string();
  const encoding = f.string();
  const data = f.bytesOf(f.u32());
  return { id, name, encoding, data };
}

export function channelRecord(f: Fields): McapChannel {
  const id = f.u16();
  const schemaId = f.u16();
  const topic = f.string();
  const messageEncoding = f.string();
  const metadata = f.stringMap();
  return { id, schemaId, topic, messageEncoding, metadata };
}

export function sameChannel(a: McapChannel, b: McapChannel): boolean {
  if (
    a.schemaId !== b.schemaId ||
    a.topic !== b.topic ||
    a.messageEncoding !== b.messageEncoding ||
    a.metadata.size !== b.metadata.size
  )
    return false;
  for (const [k, v] of a.metadata) if (b.metadata.get(k) !== v) return false;
  return true;
}

const MAX_CHUNK = 0x7fffffffn;

/**
 * The records of the Chunk record whose body is bytes[at, at + length): decompressed, their CRC checked
 * (when the writer computed one). Throws on anything that doesn't add up.
 */
export function openChunk(bytes: Uint8Array, at: number, length: number, decompress: DecompressHandlers): Uint8Array {
  const f = new Fields(bytes, at, at + length);
  f.u64();
  f.u64();
  const uncompressedSize = f.u64();
  const crc = f.u32();
  const compression = f.string();
  const n = f.length64();
  let records = f.bytesOf(n);
  if (compression !== '' && records.byteLength > 0) {
    const handler = decompress[compression];
    if (!handler) throw new Error(`unsupported chunk compression "${compression}"`);
    // A damaged size would have the decompressor allocate it (WebAssembly heaps stop at 2 GiB or 4 GiB).
    if (uncompressedSize > MAX_CHUNK)
      throw new Error(`a chunk claims ${uncompressedSize} bytes uncompressed, more than a chunk can hold`);
    records = handler(records, uncompressedSize); // lz4's own fault after a failure is handled in decompress.ts
    if (BigInt(records.byteLength) !== uncompressedSize)
      throw new Error(
        `a chunk decompressed to ${records.byteLength} bytes, not the ${uncompressedSize} its header gives`,
      );
  }
  if (crc !== 0) {
    const actual = crc32(records);
    if (actual !== crc) throw new Error(`incorrect chunk CRC ${actual} (expected ${crc})`);
  }
  return records;
}

/**
 * The schema, channel and message records of a chunk's (decompressed) records, checking their framing:
 * for each, its opcode, start and end in `records`, three entries a record (a callback per record would
 * halve the rate at which small messages are read). A message is at least its 22-byte header long.
 * Unknown opcodes are skipped; any other record is an error.
 */
export function chunkRecordSpans(records: Uint8Array): Int32Array {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let spans = new Int32Array(3 * 64);
  let n = 0;
  let p = 0;
  while (p < records.length) {
    if (records.length - p < 9)
      throw new RecordError(`${records.length - p} bytes left over at the end of a chunk`, records, p);
    const op = records[p]!;
    const len = view.getUint32(p + 1, true);
    if (view.getUint32(p + 5, true) !== 0 || len > records.length - p - 9)
      throw new RecordError(`a record in a chunk runs past the chunk's end`, records, p);
    const at = p + 9;
    p = at + len;
    if (op === Op.MESSAGE || op === Op.SCHEMA || op === Op.CHANNEL) {
      if (op === Op.MESSAGE && len < 22)
        throw new RecordError('a message record shorter than its header', records, at - 9);
      if (n + 3 > spans.length) {
        const grown = new Int32Array(spans.length * 2);
        grown.set(spans);
        spans = grown;
      }
      spans[n++] = op;
      spans[n++] = at;
      spans[n++] = p;
    } else if (op >= 1 && op <= KNOWN_MAX)
      throw new RecordError(`a record of opcode ${op} is not allowed inside a chunk`, records, at - 9);
  }
  return spans.subarray(0, n);
}
