import type { ChunkRecords } from './chunk-accumulator.ts';

// The byte layout of an MCAP Chunk record's head and of the MessageIndex records that follow a chunk.

/** The bytes of a Chunk record before its records field. */
export function chunkHeadLength(compression: string): number {
  return 1 + 8 + 8 + 8 + 8 + 4 + 4 + Buffer.byteLength(compression, 'utf8') + 8;
}

/** A Chunk record up to its records field (uncompressed_crc 0: not computed, as MCAP allows). */
export function chunkHead(records: ChunkRecords, compression: string, compressedSize: number, crc: number): Uint8Array {
  const name = Buffer.from(compression, 'utf8');
  const contentLength = 8 + 8 + 8 + 4 + 4 + name.byteLength + 8 + compressedSize;
  const head = new Uint8Array(chunkHeadLength(compression));
  const v = new DataView(head.buffer);
  let p = 0;
  v.setUint8(p, 0x06);
  v.setBigUint64((p += 1), BigInt(contentLength), true);
  v.setBigUint64((p += 8), records.startTime, true);
  v.setBigUint64((p += 8), records.endTime, true);
  v.setBigUint64((p += 8), BigInt(records.byteLength), true);
  v.setUint32((p += 8), crc, true);
  v.setUint32((p += 4), name.byteLength, true);
  head.set(name, (p += 4));
  v.setBigUint64(p + name.byteLength, BigInt(compressedSize), true);
  return head;
}

/** The MessageIndex records of a chunk whose first one starts at file offset `start`, and each channel's offset. */
export function messageIndexes(
  records: ChunkRecords,
  start: bigint,
): { bytes: Uint8Array; offsets: Map<number, bigint> } {
  let size = 0;
  for (const index of records.indexes.values()) size += 1 + 8 + 2 + 4 + index.offsets.length * 16;
  const bytes = new Uint8Array(size);
  const v = new DataView(bytes.buffer);
  const offsets = new Map<number, bigint>();
  let p = 0;
  for (const [channelId, index] of records.indexes) {
    offsets.set(channelId, start + BigInt(p));
    const n = index.offsets.length;
    v.setUint8(p, 0x07);
    v.setBigUint64(p + 1, BigInt(2 + 4 + n * 16), true);
    v.setUint16(p + 9, channelId, true);
    v.setUint32(p + 11, n * 16, true);
    p += 15;
    for (let i = 0; i < n; i++) {
      v.setBigUint64(p, index.logTimes[i]!, true);
      v.setBigUint64(p + 8, BigInt(index.offsets[i]!), true);
      p += 16;
    }
  }
  return { bytes, offsets };
}
