import * as zlib from 'node:zlib';

// CRC-32 (IEEE 802.3, the zlib/PNG polynomial). zlib's native crc32 (Node >= 20.15) is ~20x faster than
// the table below, which stays for older Node 20 releases.
const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (native) return native(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
  return crc32Table(bytes, start, end);
}

/** The portable table-driven CRC (exported for its test: it must agree with zlib's). */
export function crc32Table(bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number {
  let crc = (initial ^ 0xffffffff) >>> 0;
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
