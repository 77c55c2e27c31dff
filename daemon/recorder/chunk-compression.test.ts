// isolated: decodes with wasm-lz4 directly, whose one context an earlier file's damaged chunk breaks (vitest.config.ts)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lz4 from '@foxglove/wasm-lz4';
import { McapIndexedReader } from '@mcap/core';
import { compress, decompressFrame } from 'lz4-napi';
import { afterEach, describe, expect, it } from 'vitest';
import { decompressHandlers } from '../bags/decompress.ts';
import { chunkCrc, chunkCrcInSteps, type ChunkRecords } from './chunk-accumulator.ts';
import { loadCompressor, LOOP_STEP_BYTES, lz4Frame } from './chunk-compression.ts';
import { McapSegmentWriter } from './mcap-segment-writer.ts';
import { fsSegmentIO } from './segment-io.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const MiB = 1024 * 1024;

/** Half random (incompressible: stored blocks), half a pattern. */
function sample(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(randomBytes(Math.floor(n / 2)));
  for (let i = Math.floor(n / 2); i < n; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}

describe('lz4 chunk compression', () => {
  it('writes one LZ4 frame that lz4-napi and @foxglove/wasm-lz4 (what @mcap/support reads with) decode to the pieces joined', async () => {
    await (lz4 as unknown as { isLoaded: Promise<boolean> }).isLoaded;
    const cases: Uint8Array[][] = [
      [],
      [new Uint8Array(0)],
      [sample(33, 1), sample(100, 2), sample(4096, 3)],
      [sample(33, 4), sample(9 * MiB + 5, 5), sample(33, 6), sample(300 * 1024, 7)],
      [sample(LOOP_STEP_BYTES, 8), sample(LOOP_STEP_BYTES, 9)],
      [new Uint8Array(6 * MiB)], // all zeros: compresses well
    ];
    for (const pieces of cases) {
      const joined = Buffer.concat(pieces);
      const frame = Buffer.concat(await lz4Frame(pieces, compress));
      expect(Buffer.from(await decompressFrame(frame)).equals(joined)).toBe(true);
      const viaWasm = (lz4 as unknown as (data: Uint8Array, size: number) => Uint8Array)(frame, joined.byteLength);
      expect(Buffer.from(viaWasm).equals(joined)).toBe(true);
    }
  });

  it('hands the thread pool blocks of at most LOOP_STEP_BYTES, a large message as views of itself, never the chunk joined', async () => {
    const big = sample(10 * MiB, 1);
    const pieces = [sample(33, 2), big, sample(33, 3)];
    const handed: Uint8Array[] = [];
    await lz4Frame(pieces, (block) => {
      handed.push(block);
      return compress(block);
    });
    expect(handed.map((b) => b.byteLength)).toEqual([
      LOOP_STEP_BYTES,
      LOOP_STEP_BYTES,
      10 * MiB + 66 - 2 * LOOP_STEP_BYTES,
    ]);
    // The first block joins the 33-byte head with the start of the message (a copy of one block at most);
    // the second is the message itself, not a copy.
    expect(handed[1]!.buffer).toBe(big.buffer);
  });

  it('a chunk of one message larger than a step is written (CRC taken in steps) and read back by @mcap/core with its CRC checked', async () => {
    const records: ChunkRecords = {
      pieces: [sample(10, 1), sample(9 * MiB, 2)],
      byteLength: 9 * MiB + 10,
      messageCount: 1,
      startTime: 0n,
      endTime: 0n,
      indexes: new Map(),
    };
    expect(await chunkCrcInSteps(records, LOOP_STEP_BYTES)).toBe(chunkCrc(records));

    for (const compression of ['lz4', 'none'] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'chunk-lz4-'));
      dirs.push(dir);
      const path = join(dir, 'x.mcap');
      const writer = new McapSegmentWriter({
        file: await fsSegmentIO.create(path),
        compression,
        compressor: await loadCompressor(compression),
        chunkSize: MiB,
      });
      const channel = writer.addChannel({ topic: '/points', schemaId: 0, messageEncoding: 'cdr', metadata: new Map() });
      const sent = [sample(100, 3), sample(9 * MiB, 4), sample(100, 5)];
      sent.forEach((data, i) => writer.addMessage(channel, BigInt(i), BigInt(i), data));
      await writer.end();
      const file = readFileSync(path);
      const reader = await McapIndexedReader.Initialize({
        readable: {
          size: async () => BigInt(file.byteLength),
          read: async (o, l) => file.subarray(Number(o), Number(o + l)),
        },
        decompressHandlers: await decompressHandlers(),
      });
      expect(reader.chunkIndexes.every((c) => c.compression === (compression === 'none' ? '' : 'lz4'))).toBe(true);
      const got = [];
      for await (const m of reader.readMessages({ validateCrcs: true })) got.push(m.data);
      expect(got.length).toBe(3);
      got.forEach((data, i) => expect(Buffer.from(data).equals(Buffer.from(sent[i]!))).toBe(true));
    }
  });
});
