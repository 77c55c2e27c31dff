import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zstd from '@foxglove/wasm-zstd';
import { describe, expect, it } from 'vitest';
import { loadCompressor, type Compressor } from './chunk-compression.ts';
import { McapSegmentWriter } from './mcap-segment-writer.ts';
import { readMcap } from './recorder-fixture.ts';
import { fsSegmentIO } from './segment-io.ts';
import { ZstdWorker } from './zstd-worker.ts';
import { cleanupStack } from '../../test/helpers/cleanups.ts';

const MiB = 1024 * 1024;
const cleanups = cleanupStack();

/** Half random, half a pattern: compresses some. */
function sample(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(randomBytes(Math.floor(n / 2)));
  for (let i = Math.floor(n / 2); i < n; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}

function worker(stepBytes = 4 * MiB): ZstdWorker {
  const w = new ZstdWorker({ level: 1, stepBytes });
  cleanups.push(() => w.close());
  return w;
}

describe('zstd chunk compression on a worker thread', () => {
  it('writes byte for byte the frame wasm-zstd writes on the main thread, and leaves the pieces as they were', async () => {
    await zstd.isLoaded;
    const w = worker(64 * 1024); // a small step, so the copy of a large piece is taken in steps
    const backing = sample(300 * 1024, 9);
    const cases: Uint8Array[][] = [
      [sample(33, 1)],
      [sample(33, 2), sample(100, 3), sample(4096, 4)],
      // Views into a larger buffer (as the accumulator's blocks are): only their own bytes are compressed.
      [backing.subarray(10, 1000), sample(200 * 1024, 5), backing.subarray(100 * 1024, 250 * 1024)],
      [new Uint8Array(3 * MiB)],
    ];
    for (const pieces of cases) {
      const copies = pieces.map((p) => Buffer.from(p));
      const joined = Buffer.concat(pieces);
      const frame = await w.compress(pieces, joined.byteLength);
      expect(Buffer.from(frame).equals(zstd.compress(joined, 1))).toBe(true);
      expect(Buffer.from(zstd.decompress(frame, joined.byteLength)).equals(joined)).toBe(true);
      // Bus messages are shared with other subscribers: none may be moved to the worker (detached) or changed.
      pieces.forEach((p, i) => expect(Buffer.from(p).equals(copies[i]!)).toBe(true));
    }
    expect(backing.byteLength).toBe(300 * 1024);
  });

  it("keeps the event loop turning while the recorder's zstd compressor compresses a chunk", async () => {
    const compressor = (await loadCompressor('zstd')) as Compressor;
    cleanups.push(() => compressor.close?.());
    await compressor([sample(1024, 1)], 1024); // the thread is up
    const order: string[] = [];
    const big = [sample(32 * MiB, 2)];
    const done = compressor(big, 32 * MiB).then(() => order.push('compressed'));
    const ticks = (async () => {
      while (order.length === 0)
        await new Promise((r) => setImmediate(r)).then(() => order.length === 0 && order.push('loop turned'));
    })();
    await Promise.all([done, ticks]);
    // On the main thread the frame was ready before the loop could turn even once.
    expect(order[0]).toBe('loop turned');
  });

  it('fails the jobs of a thread that ends, and starts a new thread for the next job', async () => {
    const w = worker(64 * MiB);
    await w.compress([sample(1024, 1)], 1024); // the thread is up
    const pending = w.compress([sample(48 * MiB, 3)], 48 * MiB);
    await new Promise((r) => setImmediate(r)); // the job is on the thread (one step: no yield before it is sent)
    await w.close();
    await expect(pending).rejects.toThrow(/zstd compression failed: its worker thread exited/);
    const pieces = [sample(5000, 4)];
    expect(Buffer.from(await w.compress(pieces, 5000)).equals(zstd.compress(Buffer.from(pieces[0]!), 1))).toBe(true);
  });

  it('is what the recorder compresses with: @mcap/core reads every message back with chunk CRCs checked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chunk-zstd-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const compressor = (await loadCompressor('zstd')) as Compressor;
    cleanups.push(() => compressor.close?.());
    const path = join(dir, 'x.mcap');
    const writer = new McapSegmentWriter({
      file: await fsSegmentIO.create(path),
      compression: 'zstd',
      compressor,
      chunkSize: MiB,
    });
    const channel = writer.addChannel({ topic: '/points', schemaId: 0, messageEncoding: 'cdr', metadata: new Map() });
    const sent = [sample(100, 5), sample(9 * MiB, 6), ...Array.from({ length: 40 }, (_, i) => sample(50_000, i))];
    sent.forEach((data, i) => writer.addMessage(channel, BigInt(i), BigInt(i), data));
    await writer.end();
    const { reader, messages } = await readMcap(path); // chunk CRCs checked
    expect(reader.chunkIndexes.length).toBeGreaterThan(1);
    expect(reader.chunkIndexes.every((c) => c.compression === 'zstd' && c.compressedSize < c.uncompressedSize)).toBe(
      true,
    );
    const got = messages.map((m) => m.data);
    expect(got.length).toBe(sent.length);
    got.forEach((data, i) => expect(Buffer.from(data).equals(Buffer.from(sent[i]!))).toBe(true));
  });
});
