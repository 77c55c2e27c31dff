import type { FileHandle } from 'node:fs/promises';
import type { DecompressHandlers } from '@mcap/core';
import { crc32 } from '../util/index.ts';
import { channelRecord, chunkRecordSpans, Fields, MAGIC, Op, openChunk, RecordError, sameChannel, schemaRecord, type McapChannel, type McapSchema } from './mcap-records.ts';

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
 * Streams the messages of an MCAP file in file order, a chunk's messages at a time, checking what @mcap/core's stream reader checks
 * (magic, record framing, chunk CRCs, attachment CRCs, channels declared before use and never redefined
 * differently, records allowed in chunks, the footer and trailing magic), but with zlib's native CRC-32
 * and without copying: message data are views into the bytes read or the decompressed chunk. Buffers
 * are never reused, so a view stays valid as long as it is held. The file is read `blockSize` bytes at a
 * time, the next block while this one is parsed.
 */
export async function* readMcap(fh: FileHandle, size: number, decompress: DecompressHandlers, onChannel: (channel: McapChannel, schema: McapSchema | undefined) => void, blockSize = READ_SIZE): AsyncGenerator<McapMessage[]> {
  let buf: Uint8Array = new Uint8Array(0);
  let bv = new DataView(buf.buffer);
  let pos = 0;
  let base = 0; // file offset of buf[0]
  // The file is read in blocks, the next one while this one is parsed. A record that crosses into the next
  // block is copied into a buffer of its own; the block's other bytes wait in `pending`.
  let filePos = 0; // file offset of the next block
  let ended = false; // a short read: the file ends before `size`
  let ahead: Promise<{ bytes: Uint8Array; base: number }> | undefined;
  let pending: { bytes: Uint8Array; at: number; base: number } | undefined;
  const readBlock = async (): Promise<{ bytes: Uint8Array; base: number }> => {
    const at = filePos;
    const length = Math.min(blockSize, size - at);
    filePos += length;
    // Not zero-filled (the file's bytes overwrite it; only the bytes read are ever looked at).
    const block = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await fh.read(block, filled, length - filled, at + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < length) ended = true;
    return { bytes: block.subarray(0, filled), base: at };
  };
  const nextSource = async (): Promise<{ bytes: Uint8Array; at: number; base: number } | undefined> => {
    if (pending) {
      const p = pending;
      pending = undefined;
      return p;
    }
    if (!ahead) {
      if (filePos >= size || ended) return undefined;
      ahead = readBlock();
    }
    const block = await ahead;
    ahead = undefined;
    if (!ended && filePos < size) {
      ahead = readBlock();
      ahead.catch(() => undefined); // awaited by the next call, or dropped with the reader
    }
    return block.bytes.length > 0 ? { bytes: block.bytes, at: 0, base: block.base } : undefined;
  };
  /** Makes `n` bytes available at `pos`; false at the end of the file. */
  const ensure = async (n: number): Promise<boolean> => {
    while (buf.length - pos < n) {
      const first = await nextSource();
      if (!first) return false;
      const rest = buf.length - pos;
      if (rest === 0) {
        buf = first.bytes;
        pos = first.at;
        base = first.base;
      } else {
        const joined = new Uint8Array(n);
        joined.set(buf.subarray(pos));
        let filled = rest;
        let src: typeof first | undefined = first;
        while (src && filled < n) {
          const take = Math.min(n - filled, src.bytes.length - src.at);
          joined.set(src.bytes.subarray(src.at, src.at + take), filled);
          filled += take;
          if (src.at + take < src.bytes.length) pending = { bytes: src.bytes, at: src.at + take, base: src.base };
          else if (filled < n) src = await nextSource();
        }
        base += pos;
        buf = joined.subarray(0, filled);
        pos = 0;
      }
      bv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    }
    return true;
  };

  if (!(await ensure(8)) || MAGIC.some((b, i) => buf[i] !== b)) throw new McapFormatError(0, 'no MCAP magic at its start');
  // A file cut short (a crash, a full disk) has lost its closing magic. One that still has it, yet holds a
  // record longer than what is left of it, was damaged in place: `bag repair` leaves such a file alone.
  const tail = new Uint8Array(8);
  const closed = size >= 16 && (await fh.read(tail, 0, 8, size - 8)).bytesRead === 8 && MAGIC.every((b, i) => tail[i] === b);
  pos = 8;
  const schemas = new Map<number, McapSchema>();
  const channels = new Map<number, McapChannel>();
  let header = false;
  const addChannel = (c: McapChannel): void => {
    const existing = channels.get(c.id);
    if (existing) {
      if (!sameChannel(existing, c)) throw new Error(`channel record for id ${c.id} (topic: ${c.topic}) differs from a previous channel record of the same id`);
      return;
    }
    channels.set(c.id, c);
    onChannel(c, schemas.get(c.schemaId));
  };

  for (;;) {
    const start = base + pos;
    if (!(await ensure(9))) throw new McapFormatError(start, `it ends at byte ${size} without its footer`, true);
    const opcode = buf[pos]!;
    const length64 = bv.getBigUint64(pos + 1, true);
    if (length64 > BigInt(size - start - 9)) {
      if (closed) throw new McapFormatError(start, `a record claims ${length64} bytes, more than is left of the file (${size} bytes), though the file ends with its closing magic: the record's length is damaged`);
      throw new McapFormatError(start, `a record of ${length64} bytes runs past the end of the file (${size} bytes)`, true);
    }
    const length = Number(length64);
    if (!(await ensure(9 + length))) throw new McapFormatError(start, `it ends at byte ${size} inside a record, without its footer`, true);
    const bytes = buf;
    const at = pos + 9;
    pos = at + length;
    try {
      switch (opcode) {
        case HEADER:
          if (header) throw new Error('a second Header record');
          header = true;
          break;
        case FOOTER: {
          if (!(await ensure(8))) throw new McapFormatError(base + pos, `it ends at byte ${size} without the magic after its footer`, true);
          if (MAGIC.some((b, i) => buf[pos + i] !== b)) throw new Error('no MCAP magic after the footer');
          pos += 8;
          if (base + pos !== size) throw new Error(`${size - base - pos} bytes after the footer and trailing magic`);
          return;
        }
        case SCHEMA: {
          const s = schemaRecord(new Fields(bytes, at, at + length));
          schemas.set(s.id, s);
          break;
        }
        case CHANNEL:
          addChannel(channelRecord(new Fields(bytes, at, at + length)));
          break;
        case MESSAGE: {
          const f = new Fields(bytes, at, at + length);
          const id = f.u16();
          const channel = channels.get(id);
          if (!channel) throw new Error(`a message refers to channel ${id}, which was never declared`);
          f.u32();
          const logTime = f.u64();
          const publishTime = f.u64();
          yield [{ topic: channel.topic, logTime, publishTime, data: bytes.subarray(f.at, at + length), offset: BigInt(start) }];
          break;
        }
        case CHUNK: {
          const records = openChunk(bytes, at, length, decompress);
          const offset = BigInt(start);
          const rv = new DataView(records.buffer, records.byteOffset, records.byteLength);
          const spans = chunkRecordSpans(records);
          const batch: McapMessage[] = [];
          for (let i = 0; i < spans.length; i += 3) {
            const op = spans[i]!;
            const rAt = spans[i + 1]!;
            const rEnd = spans[i + 2]!;
            if (op === MESSAGE) {
              const id = rv.getUint16(rAt, true);
              const channel = channels.get(id);
              if (!channel) throw new Error(`a message refers to channel ${id}, which was never declared`);
              batch.push({ topic: channel.topic, logTime: rv.getBigUint64(rAt + 6, true), publishTime: rv.getBigUint64(rAt + 14, true), data: records.subarray(rAt + 22, rEnd), offset });
            } else if (op === SCHEMA) {
              const s = schemaRecord(new Fields(records, rAt, rEnd));
              schemas.set(s.id, s);
            } else {
              addChannel(channelRecord(new Fields(records, rAt, rEnd)));
            }
          }
          if (batch.length > 0) yield batch;
          break;
        }
        case ATTACHMENT: {
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
          break;
        }
        default:
          break; // indexes, statistics, metadata, summary offsets, data end, unknown opcodes: not needed here
      }
    } catch (error) {
      if (error instanceof McapFormatError) throw error;
      // bytes[at - 9] is the record's first byte, at file offset `start`. A place in a chunk's decompressed
      // records has no file offset: the chunk's start is as near as it gets.
      const inFile = error instanceof RecordError && error.bytes.buffer === bytes.buffer;
      const offset = inFile ? start + (error.bytes.byteOffset + error.at - (bytes.byteOffset + at - 9)) : start;
      throw new McapFormatError(offset, (error as Error).message, false, opcode === CHUNK ? { start, end: start + 9 + length } : undefined);
    }
  }
}
