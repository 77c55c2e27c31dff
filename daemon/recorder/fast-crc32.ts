import { createRequire } from 'node:module';
import { crc32 as zlibCrc32 } from 'node:zlib';

/** CRC-32 (IEEE, as MCAP uses), continuing from `initial`. */
export type Crc32 = (data: Uint8Array, initial?: number) => number;

/**
 * The recorder's CRC-32: @node-rs/crc32 (a prebuilt N-API module, PCLMULQDQ/NEON folding, about 12 GB/s
 * here) where it loads, else node:zlib's (about 4.5 GB/s). Both give the same values. On 1 MiB messages the
 * chunk CRC is the recorder's largest cost after the disk write itself.
 */
export const crc32: Crc32 = load();

/** Which implementation `crc32` is, for the log and the benchmark's notes. */
export const crc32Implementation: string = crc32 === zlibCrc32 ? 'node:zlib' : '@node-rs/crc32';

function load(): Crc32 {
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as { crc32: (input: Uint8Array, initial?: number | null) => number };
    const crc = (data: Uint8Array, initial = 0): number => native.crc32(data, initial);
    // A module built for another CPU or libc may load yet compute wrongly: check it against zlib once.
    const probe = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
    return crc(probe, 7) === zlibCrc32(probe, 7) ? crc : zlibCrc32;
  } catch {
    return zlibCrc32;
  }
}
