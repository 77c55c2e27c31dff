import { crc32 } from '../util/index.ts';

/**
 * The on-disk frame of one journal record: `u32 length | u32 crc32(payload) | payload`, little-endian.
 * A frame whose length runs past the end of the file, or whose CRC does not match, is torn or corrupt.
 */
export const FRAME_HEADER = 8;

/**
 * The largest record payload the journal takes. Appends over it are refused; a reader still takes any
 * whole frame whose CRC matches (older journals hold larger ones), so a record is never lost for its size.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  frame.set(payload, FRAME_HEADER);
  sealFrame(frame, 0, frame.length);
  return frame;
}

/**
 * Frames in place a payload already written at `at + FRAME_HEADER` up to `end` of `target`: fills in the
 * header. The journal encodes records straight into its write buffer this way, with no copy per record.
 */
export function sealFrame(target: Buffer, at: number, end: number): void {
  target.writeUInt32LE(end - at - FRAME_HEADER, at);
  target.writeUInt32LE(crc32(target.subarray(at + FRAME_HEADER, end)), at + 4);
}

export type FrameScan = { ok: true; payload: Buffer; next: number } | { ok: false; reason: 'truncated' | 'crc' };

/**
 * Reads the frame at `offset` of `buf`. The length is not checked against MAX_RECORD_BYTES: a damaged
 * length either runs past the end (`truncated`) or fails the CRC, and `buf` is already in memory.
 */
export function decodeFrame(buf: Buffer, offset: number): FrameScan {
  if (offset + FRAME_HEADER > buf.length) return { ok: false, reason: 'truncated' };
  const length = buf.readUInt32LE(offset);
  const end = offset + FRAME_HEADER + length;
  if (end > buf.length) return { ok: false, reason: 'truncated' };
  if (crc32(buf.subarray(offset + FRAME_HEADER, end)) !== buf.readUInt32LE(offset + 4))
    return { ok: false, reason: 'crc' };
  return { ok: true, payload: buf.subarray(offset + FRAME_HEADER, end), next: end };
}
