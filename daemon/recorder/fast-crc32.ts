import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { crc32Table } from '../journal/crc32.ts';

/** CRC-32 (IEEE, as MCAP uses), continuing from `initial`. */
export type Crc32 = (data: Uint8Array, initial?: number) => number;

/**
 * The recorder's CRC-32: @node-rs/crc32 (a prebuilt N-API module, PCLMULQDQ/NEON folding, about 12 GB/s
 * here) where it loads, else node:zlib's (about 4.5 GB/s), else (Node 20 before 20.15, no zlib.crc32) the
 * journal's table-driven one. All give the same values. On 1 MiB messages the
 * chunk CRC is the recorder's largest cost after the disk write itself.
 */
const portable: Crc32 = (zlib as { crc32?: Crc32 }).crc32 ?? ((data, initial = 0) => crc32Table(data, 0, data.length, initial));

export const crc32: Crc32 = load();

/** Which implementation `crc32` is, for the log and the benchmark's notes. */
export const crc32Implementation: string = crc32 === portable ? 'portable (node:zlib or a table)' : '@node-rs/crc32';

function load(): Crc32 {
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as { crc32: (input: Uint8Array, initial?: number | null) => number };
    const crc = (data: Uint8Array, initial = 0): number => native.crc32(data, initial);
    // A module built for another CPU or libc may load yet compute wrongly: check it against zlib once.
    const probe = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
    return crc(probe, 7) === portable(probe, 7) ? crc : portable;
  } catch {
    return portable;
  }
}
