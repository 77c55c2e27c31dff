import { createRequire } from 'node:module';
import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * The project's one CRC-32 (IEEE 802.3, the zlib/PNG polynomial, as MCAP and the journal's frames use):
 * @node-rs/crc32 (a prebuilt N-API module, PCLMULQDQ/NEON folding, about 12 GB/s on the CI VM) where it
 * loads and agrees with zlib, else node:zlib's (about 4.5 GB/s). Both give the same values.
 */

/** CRC-32 of `data`, continuing from `initial` (the CRC of the bytes before it). */
export type Crc32 = (data: Uint8Array, initial?: number) => number;

const portable: Crc32 = zlibCrc32;

let chosen: Crc32 | undefined;

/** Chosen at its first call, not at import: a client command (`status`) that computes none loads no native module. */
export const crc32: Crc32 = (data, initial) => (chosen ??= load())(data, initial);

/** Which implementation `crc32` is, for the log and the benchmarks' notes. */
export function crc32Implementation(): string {
  return (chosen ??= load()) === portable ? 'node:zlib' : '@node-rs/crc32';
}

function load(): Crc32 {
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as {
      crc32: (input: Uint8Array, initial?: number | null) => number;
    };
    const crc = (data: Uint8Array, initial = 0): number => native.crc32(data, initial);
    // A module built for another CPU or libc may load yet compute wrongly: check it against zlib once.
    const probe = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
    return crc(probe, 7) === portable(probe, 7) ? crc : portable;
  } catch {
    return portable;
  }
}
