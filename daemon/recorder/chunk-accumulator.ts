import { crc32 } from '../util/index.ts';

/** Messages this large are referenced, not copied: bus messages are never mutated after publish. */
const COPY_LIMIT = 4096;
const BLOCK = 256 * 1024;
const MESSAGE_HEADER = 1 + 8 + 2 + 4 + 8 + 8;

interface ChannelIndex {
  logTimes: bigint[];
  offsets: number[];
}

/** A finished chunk's records, ready to compress and write. `pieces` together are the records field. */
export interface ChunkRecords {
  pieces: Uint8Array[];
  byteLength: number;
  messageCount: number;
  startTime: bigint;
  endTime: bigint;
  /** Per channel: the log time and offset (in the records field) of each message, for MessageIndex records. */
  indexes: Map<number, ChannelIndex>;
}

/**
 * Collects the records of one MCAP chunk as a list of byte pieces. Small messages are copied into shared
 * blocks; large ones are kept by reference, so a 1 MiB message costs no copy before it reaches the file.
 */
export class ChunkAccumulator {
  #pieces: Uint8Array[] = [];
  #block = new Uint8Array(BLOCK);
  #view = new DataView(this.#block.buffer);
  #blockStart = 0;
  #pos = 0;
  #length = 0;
  #count = 0;
  #start = 0n;
  #end = 0n;
  #indexes = new Map<number, ChannelIndex>();

  get byteLength(): number {
    return this.#length;
  }

  get messageCount(): number {
    return this.#count;
  }

  /** Adds a Schema or Channel record, already encoded. */
  addRecord(bytes: Uint8Array): void {
    this.#reserve(bytes.byteLength);
    this.#block.set(bytes, this.#pos);
    this.#pos += bytes.byteLength;
    this.#length += bytes.byteLength;
  }

  addMessage(channelId: number, sequence: number, logTime: bigint, publishTime: bigint, data: Uint8Array): void {
    const inline = data.byteLength <= COPY_LIMIT;
    let index = this.#indexes.get(channelId);
    if (!index) {
      index = { logTimes: [], offsets: [] };
      this.#indexes.set(channelId, index);
    }
    index.logTimes.push(logTime);
    index.offsets.push(this.#length);
    if (this.#count === 0 || logTime < this.#start) this.#start = logTime;
    if (this.#count === 0 || logTime > this.#end) this.#end = logTime;
    this.#count++;

    this.#reserve(MESSAGE_HEADER + (inline ? data.byteLength : 0));
    const v = this.#view;
    const p = this.#pos;
    v.setUint8(p, 0x05);
    v.setBigUint64(p + 1, BigInt(2 + 4 + 8 + 8 + data.byteLength), true);
    v.setUint16(p + 9, channelId, true);
    v.setUint32(p + 11, sequence, true);
    v.setBigUint64(p + 15, logTime, true);
    v.setBigUint64(p + 23, publishTime, true);
    this.#pos += MESSAGE_HEADER;
    if (inline) {
      this.#block.set(data, this.#pos);
      this.#pos += data.byteLength;
    } else {
      this.#cutBlock();
      this.#pieces.push(data);
    }
    this.#length += MESSAGE_HEADER + data.byteLength;
  }

  /** Hands over what was collected and starts an empty chunk. Its CRC is computed by the writer (chunkCrc). */
  take(): ChunkRecords {
    this.#cutBlock();
    const taken: ChunkRecords = {
      pieces: this.#pieces,
      byteLength: this.#length,
      messageCount: this.#count,
      startTime: this.#start,
      endTime: this.#end,
      indexes: this.#indexes,
    };
    this.#pieces = [];
    this.#indexes = new Map();
    this.#length = 0;
    this.#count = 0;
    this.#start = 0n;
    this.#end = 0n;
    return taken;
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#block.byteLength) return;
    this.#cutBlock();
    // The old block's bytes now belong to the pieces list: start a fresh one, never overwrite.
    this.#block = new Uint8Array(Math.max(BLOCK, n));
    this.#view = new DataView(this.#block.buffer);
    this.#blockStart = 0;
    this.#pos = 0;
  }

  #cutBlock(): void {
    if (this.#pos > this.#blockStart) {
      this.#pieces.push(this.#block.subarray(this.#blockStart, this.#pos));
      this.#blockStart = this.#pos;
    }
  }
}

/** CRC-32 of a chunk's records field, uncompressed, as the MCAP Chunk record's uncompressed_crc. */
export function chunkCrc(records: ChunkRecords): number {
  let crc = 0;
  for (const piece of records.pieces) crc = crc32(piece, crc);
  return crc;
}

/**
 * chunkCrc over `step` bytes at a time, yielding to the event loop between steps (for a chunk of one large message).
 */
export async function chunkCrcInSteps(records: ChunkRecords, step: number): Promise<number> {
  let crc = 0;
  for (const piece of records.pieces) {
    for (let at = 0; at < piece.byteLength; at += step) {
      crc = crc32(piece.subarray(at, Math.min(piece.byteLength, at + step)), crc);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return crc;
}
