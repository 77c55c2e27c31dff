import type { FileHandle } from 'node:fs/promises';
import type { DecompressHandlers } from '@mcap/core';
import { crc32, errorText } from '../util/index.ts';
import {
  channelRecord,
  chunkRecordSpans,
  Fields,
  MAGIC,
  Op,
  openChunk,
  RecordError,
  sameChannel,
  schemaRecord,
  type McapChannel,
  type McapSchema,
} from './mcap-records.ts';

export type { McapChannel, McapSchema } from './mcap-records.ts';

const READ_SIZE = 8 * 1024 * 1024;
const { HEADER, FOOTER, SCHEMA, CHANNEL, MESSAGE, CHUNK, ATTACHMENT } = Op;

/** A message as read: `data` is a view into the file's bytes or the decompressed chunk, never copied. */
export interface McapMessage {
  topic: string;
  logTime: bigint;
  publishTime: bigint;
  data: Uint8Array;
  /** The byte offset of the message's chunk, or of the message record when it is not in a chunk. */
  offset: bigint;
}

/**
 * A parse failure at a byte offset of the file: the caller names the file. `offset` is as near the problem
 * as the bytes tell (a field's offset where it is in the file's own bytes); `chunk` is the chunk it is in.
 */
export class McapFormatError extends Error {
  readonly offset: number;
  readonly truncated: boolean;
  readonly chunk: { start: number; end: number } | undefined;
  constructor(offset: number, message: string, truncated = false, chunk?: { start: number; end: number }) {
    super(message);
    this.offset = offset;
    this.truncated = truncated;
    this.chunk = chunk;
  }
}

/**
 * Streams the messages of an MCAP file in file order, a chunk's messages at a time, checking what @mcap/core's stream
 * reader checks (magic, record framing, chunk CRCs, attachment CRCs, channels declared before use and never redefined
 * differently, records allowed in chunks, the footer and trailing magic), but with zlib's native CRC-32 and without
 * copying: message data are views into the bytes read or the decompressed chunk. Buffers are never reused, so a view
 * stays valid as long as it is held. The file is read `blockSize` bytes at a time, the next block while this one is
 * parsed.
 */
export async function* readMcap(
  fh: FileHandle,
  size: number,
  decompress: DecompressHandlers,
  onChannel: (channel: McapChannel, schema: McapSchema | undefined) => void,
  blockSize = READ_SIZE,
): AsyncGenerator<McapMessage[]> {
  const src = new BlockSource(fh, size, blockSize);
  if (!(await src.ensure(8)) || MAGIC.some((b, i) => src.buf[i] !== b))
    throw new McapFormatError(0, 'no MCAP magic at its start');
  // A file cut short (a crash, a full disk) has lost its closing magic. One that still has it, yet holds a
  // record longer than what is left of it, was damaged in place: `bag repair` leaves such a file alone.
  const tail = new Uint8Array(8);
  const closed =
    size >= 16 && (await fh.read(tail, 0, 8, size - 8)).bytesRead === 8 && MAGIC.every((b, i) => tail[i] === b);
  src.pos = 8;
  const declared = new Declared(onChannel);
  let header = false;

  for (;;) {
    const start = src.base + src.pos;
    if (!(await src.ensure(9))) throw new McapFormatError(start, `it ends at byte ${size} without its footer`, true);
    const opcode = src.buf[src.pos]!;
    const length64 = src.bv.getBigUint64(src.pos + 1, true);
    if (length64 > BigInt(size - start - 9)) {
      if (closed)
        throw new McapFormatError(
          start,
          `a record claims ${length64} bytes, more than is left of the file (${size} bytes), though the file ends with its closing magic: the record's length is damaged`,
        );
      throw new McapFormatError(
        start,
        `a record of ${length64} bytes runs past the end of the file (${size} bytes)`,
        true,
      );
    }
    const length = Number(length64);
    if (!(await src.ensure(9 + length)))
      throw new McapFormatError(start, `it ends at byte ${size} inside a record, without its footer`, true);
    const bytes = src.buf;
    const at = src.pos + 9;
    src.pos = at + length;
    try {
      switch (opcode) {
        case HEADER:
          if (header) throw new Error('a second Header record');
          header = true;
          break;
        case FOOTER:
          await checkTrailer(src, size);
          return;
        case SCHEMA:
          declared.schema(schemaRecord(new Fields(bytes, at, at + length)));
          break;
        case CHANNEL:
          declared.channel(channelRecord(new Fields(bytes, at, at + length)));
          break;
        case MESSAGE: {
          const f = new Fields(bytes, at, at + length);
          const channel = declared.channelOf(f.u16());
          f.u32();
          const logTime = f.u64();
          const publishTime = f.u64();
          yield [
            {
              topic: channel.topic,
              logTime,
              publishTime,
              data: bytes.subarray(f.at, at + length),
              offset: BigInt(start),
            },
          ];
          break;
        }
        case CHUNK: {
          const batch = chunkMessages(openChunk(bytes, at, length, decompress), BigInt(start), declared);
          if (batch.length > 0) yield batch;
          break;
        }
        case ATTACHMENT:
          checkAttachment(bytes, at, length);
          break;
        default:
          break; // indexes, statistics, metadata, summary offsets, data end, unknown opcodes: not needed here
      }
    } catch (error) {
      if (error instanceof McapFormatError) throw error;
      // bytes[at - 9] is the record's first byte, at file offset `start`. A place in a chunk's decompressed
      // records has no file offset: the chunk's start is as near as it gets.
      const inFile = error instanceof RecordError && error.bytes.buffer === bytes.buffer;
      const offset = inFile ? start + (error.bytes.byteOffset + error.at - (bytes.byteOffset + at - 9)) : start;
      throw new McapFormatError(
        offset,
        errorText(error),
        false,
        opcode === CHUNK ? { start, end: start + 9 + length } : undefined,
      );
    }
  }
}

/** After the footer: the closing magic, then nothing. */
async function checkTrailer(src: BlockSource, size: number): Promise<void> {
  if (!(await src.ensure(8)))
    throw new McapFormatError(src.base + src.pos, `it ends at byte ${size} without the magic after its footer`, true);
  if (MAGIC.some((b, i) => src.buf[src.pos + i] !== b)) throw new Error('no MCAP magic after the footer');
  src.pos += 8;
  if (src.base + src.pos !== size)
    throw new Error(`${size - src.base - src.pos} bytes after the footer and trailing magic`);
}

/** The messages of a chunk's decompressed records, in order; its schemas and channels are declared as met. */
function chunkMessages(records: Uint8Array, offset: bigint, declared: Declared): McapMessage[] {
  const rv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const spans = chunkRecordSpans(records);
  const batch: McapMessage[] = [];
  for (let i = 0; i < spans.length; i += 3) {
    const op = spans[i]!;
    const rAt = spans[i + 1]!;
    const rEnd = spans[i + 2]!;
    if (op === MESSAGE) {
      const channel = declared.channelOf(rv.getUint16(rAt, true));
      batch.push({
        topic: channel.topic,
        logTime: rv.getBigUint64(rAt + 6, true),
        publishTime: rv.getBigUint64(rAt + 14, true),
        data: records.subarray(rAt + 22, rEnd),
        offset,
      });
    } else if (op === SCHEMA) {
      declared.schema(schemaRecord(new Fields(records, rAt, rEnd)));
    } else {
      declared.channel(channelRecord(new Fields(records, rAt, rEnd)));
    }
  }
  return batch;
}

/** An attachment's framing, and its CRC when it has one (0: none). */
function checkAttachment(bytes: Uint8Array, at: number, length: number): void {
  const f = new Fields(bytes, at, at + length);
  f.u64();
  f.u64();
  f.string();
  f.string();
  f.bytesOf(f.length64());
  const crcAt = f.at;
  const crc = f.u32();
  if (crc !== 0) {
    const actual = crc32(bytes.subarray(at, crcAt));
    if (actual !== crc) throw new Error(`incorrect attachment CRC ${actual} (expected ${crc})`);
  }
}

/** The schemas and channels declared so far: a channel is told to `onChannel` once, and never redefined. */
class Declared {
  readonly #schemas = new Map<number, McapSchema>();
  readonly #channels = new Map<number, McapChannel>();
  readonly #onChannel: (channel: McapChannel, schema: McapSchema | undefined) => void;

  constructor(onChannel: (channel: McapChannel, schema: McapSchema | undefined) => void) {
    this.#onChannel = onChannel;
  }

  schema(s: McapSchema): void {
    this.#schemas.set(s.id, s);
  }

  channel(c: McapChannel): void {
    const existing = this.#channels.get(c.id);
    if (existing) {
      if (!sameChannel(existing, c))
        throw new Error(
          `channel record for id ${c.id} (topic: ${c.topic}) differs from a previous channel record of the same id`,
        );
      return;
    }
    this.#channels.set(c.id, c);
    this.#onChannel(c, this.#schemas.get(c.schemaId));
  }

  /** The channel a message refers to, which must have been declared before it. */
  channelOf(id: number): McapChannel {
    const channel = this.#channels.get(id);
    if (!channel) throw new Error(`a message refers to channel ${id}, which was never declared`);
    return channel;
  }
}

/**
 * The file's bytes, a block read ahead while this one is parsed: `ensure(n)` makes `n` bytes available at
 * `pos` of `buf` (whose first byte is at file offset `base`). A record that crosses into the next block is
 * copied into a buffer of its own; the block's other bytes wait in `#pending`.
 */
class BlockSource {
  buf: Uint8Array = new Uint8Array(0);
  bv = new DataView(this.buf.buffer);
  pos = 0;
  /** The file offset of buf[0]. */
  base = 0;
  readonly #fh: FileHandle;
  readonly #size: number;
  readonly #blockSize: number;
  /** The file offset of the next block. */
  #filePos = 0;
  /** A short read: the file ends before `size`. */
  #ended = false;
  #ahead: Promise<{ bytes: Uint8Array; base: number }> | undefined;
  #pending: { bytes: Uint8Array; at: number; base: number } | undefined;

  constructor(fh: FileHandle, size: number, blockSize: number) {
    this.#fh = fh;
    this.#size = size;
    this.#blockSize = blockSize;
  }

  /** Makes `n` bytes available at `pos`; false at the end of the file. */
  async ensure(n: number): Promise<boolean> {
    while (this.buf.length - this.pos < n) {
      const first = await this.#nextSource();
      if (!first) return false;
      const rest = this.buf.length - this.pos;
      if (rest === 0) {
        this.buf = first.bytes;
        this.pos = first.at;
        this.base = first.base;
      } else {
        const joined = new Uint8Array(n);
        joined.set(this.buf.subarray(this.pos));
        let filled = rest;
        let src: typeof first | undefined = first;
        while (src && filled < n) {
          const take = Math.min(n - filled, src.bytes.length - src.at);
          joined.set(src.bytes.subarray(src.at, src.at + take), filled);
          filled += take;
          if (src.at + take < src.bytes.length) this.#pending = { bytes: src.bytes, at: src.at + take, base: src.base };
          else if (filled < n) src = await this.#nextSource();
        }
        this.base += this.pos;
        this.buf = joined.subarray(0, filled);
        this.pos = 0;
      }
      this.bv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    }
    return true;
  }

  async #nextSource(): Promise<{ bytes: Uint8Array; at: number; base: number } | undefined> {
    if (this.#pending) {
      const p = this.#pending;
      this.#pending = undefined;
      return p;
    }
    if (!this.#ahead) {
      if (this.#filePos >= this.#size || this.#ended) return undefined;
      this.#ahead = this.#readBlock();
    }
    const block = await this.#ahead;
    this.#ahead = undefined;
    if (!this.#ended && this.#filePos < this.#size) {
      this.#ahead = this.#readBlock();
      this.#ahead.catch(() => undefined); // awaited by the next call, or dropped with the reader
    }
    return block.bytes.length > 0 ? { bytes: block.bytes, at: 0, base: block.base } : undefined;
  }

  async #readBlock(): Promise<{ bytes: Uint8Array; base: number }> {
    const at = this.#filePos;
    const length = Math.min(this.#blockSize, this.#size - at);
    this.#filePos += length;
    // Not zero-filled (the file's bytes overwrite it; only the bytes read are ever looked at).
    const block = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.#fh.read(block, filled, length - filled, at + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < length) this.#ended = true;
    return { bytes: block.subarray(0, filled), base: at };
  }
}
