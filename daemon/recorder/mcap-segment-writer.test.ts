import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader, McapStreamReader } from '@mcap/core';
import { afterEach, describe, expect, it } from 'vitest';
import { decompressHandlers } from '../bags/decompress.ts';
import { loadCompressor, type ChunkCompression } from './chunk-compression.ts';
import { McapSegmentWriter } from './mcap-segment-writer.ts';
import { repairBag } from './repair.ts';
import { fsSegmentIO, type SegmentFile } from './segment-io.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

async function writeSample(compression: ChunkCompression, sizes: number[]) {
  const dir = mkdtempSync(join(tmpdir(), 'mcap-seg-'));
  dirs.push(dir);
  const path = join(dir, 'x.mcap');
  const writer = new McapSegmentWriter({
    file: await fsSegmentIO.create(path),
    compression,
    compressor: await loadCompressor(compression),
    chunkSize: 64 * 1024,
  });
  const schemaId = writer.addSchema({
    name: 'std_msgs/msg/String',
    encoding: 'ros2msg',
    data: new TextEncoder().encode('string data\n'),
  });
  const a = writer.addChannel({
    topic: '/a',
    schemaId,
    messageEncoding: 'cdr',
    metadata: new Map([['offered_qos_profiles', '']]),
  });
  const b = writer.addChannel({ topic: '/b', schemaId, messageEncoding: 'cdr', metadata: new Map() });
  const sent: { topic: string; logTime: bigint; data: Uint8Array }[] = [];
  sizes.forEach((size, i) => {
    const channel = i % 3 === 0 ? b : a;
    const data = bytes(size, i);
    writer.addMessage(channel, BigInt(1000 + i), BigInt(900 + i), data);
    sent.push({ topic: channel === a ? '/a' : '/b', logTime: BigInt(1000 + i), data });
  });
  await writer.flush();
  writer.addMetadata('rosbag2', new Map([['serialized_metadata', 'version: 9\n']]));
  await writer.end();
  return { path, sent };
}

describe('McapSegmentWriter', () => {
  for (const compression of ['none', 'zstd', 'lz4'] as const) {
    it(`writes a file @mcap/core reads back byte for byte (${compression})`, async () => {
      const sizes = Array.from({ length: 500 }, (_, i) => (i % 50 === 0 ? 20_000 : 100 + (i % 7)));
      const { path, sent } = await writeSample(compression, sizes);
      const file = readFileSync(path);
      const reader = await McapIndexedReader.Initialize({
        readable: {
          size: async () => BigInt(file.byteLength),
          read: async (o, l) => file.subarray(Number(o), Number(o + l)),
        },
        decompressHandlers: await decompressHandlers(),
      });
      expect(reader.header.profile).toBe('ros2');
      expect(reader.statistics?.messageCount).toBe(500n);
      expect(reader.chunkIndexes.length).toBeGreaterThan(1);
      expect(reader.chunkIndexes.every((c) => c.compression === (compression === 'none' ? '' : compression))).toBe(
        true,
      );
      const got = [];
      for await (const m of reader.readMessages())
        got.push({ topic: reader.channelsById.get(m.channelId)!.topic, logTime: m.logTime, data: m.data });
      expect(got.length).toBe(sent.length);
      for (let i = 0; i < sent.length; i++) {
        expect(got[i]!.topic).toBe(sent[i]!.topic);
        expect(got[i]!.logTime).toBe(sent[i]!.logTime);
        expect(Buffer.compare(Buffer.from(got[i]!.data), Buffer.from(sent[i]!.data))).toBe(0);
      }
      const meta = [];
      for await (const m of reader.readMetadata({ name: 'rosbag2' })) meta.push(m.metadata.get('serialized_metadata'));
      expect(meta).toEqual(['version: 9\n']);

      // The streaming reader checks every CRC, the summary's included. Each chunk's CRC must be there (0
      // would mean "not computed" and pass unchecked).
      const stream = new McapStreamReader({
        decompressHandlers: await decompressHandlers(),
        validateCrcs: true,
        includeChunks: true,
      });
      stream.append(file);
      let n = 0;
      const chunkCrcs: number[] = [];
      for (let r; (r = stream.nextRecord());) {
        if (r.type === 'Message') n++;
        if (r.type === 'Chunk') chunkCrcs.push(r.uncompressedCrc);
      }
      expect(stream.done()).toBe(true);
      expect(n).toBe(500);
      expect(chunkCrcs.length).toBeGreaterThan(1);
      expect(chunkCrcs.every((crc) => crc !== 0)).toBe(true);
    });
  }

  it('reports an I/O error from the file and stops writing', async () => {
    const writes: number[] = [];
    const file = {
      writev: async (pieces: readonly Uint8Array[]) => {
        if (writes.length >= 1)
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        writes.push(pieces.length);
      },
      sync: async () => undefined,
      close: async () => undefined,
    };
    const writer = new McapSegmentWriter({ file, chunkSize: 10 });
    const ch = writer.addChannel({ topic: '/a', schemaId: 0, messageEncoding: 'cdr', metadata: new Map() });
    writer.addMessage(ch, 1n, 1n, bytes(100, 1));
    await expect(writer.flush()).rejects.toThrow(/ENOSPC/);
    expect(writer.error?.message).toMatch(/ENOSPC/);
    expect(writer.pendingBytes).toBe(0);
  });

  it('a crash with a later chunk landed and an earlier one not (a hole): repair keeps what precedes the hole and the chunks that landed beyond it, and the original', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcap-hole-'));
    dirs.push(dir);
    const real = await fsSegmentIO.create(join(dir, 'hole_0.mcap'));
    let calls = 0;
    // Write 1 is the header, 2 the first chunk (landed before more is added); write 3 (the second chunk)
    // never reaches the file, as if the process died while it was in flight, and writes 4 and 5 (the third
    // chunk, then the fourth, batched while both write slots were taken) land beyond it.
    const file: SegmentFile = {
      ...real,
      writev: async (pieces, position) => (++calls === 3 ? undefined : real.writev(pieces, position)),
      sync: () => real.sync(),
      close: () => real.close(),
    };
    const writer = new McapSegmentWriter({ file, chunkSize: 1000 });
    const ch = writer.addChannel({ topic: '/a', schemaId: 0, messageEncoding: 'cdr', metadata: new Map() });
    for (let i = 0; i < 2; i++) writer.addMessage(ch, BigInt(i + 1), BigInt(i + 1), bytes(600, i)); // two per chunk
    await writer.drain();
    for (let i = 2; i < 8; i++) writer.addMessage(ch, BigInt(i + 1), BigInt(i + 1), bytes(600, i));
    await writer.drain();
    await writer.abandon();
    expect(calls).toBe(5);
    const before = readFileSync(join(dir, 'hole_0.mcap'));
    const repair = await repairBag(dir);
    expect(repair.files).toHaveLength(1);
    expect(repair.files[0]).toMatchObject({
      state: 'repaired',
      messages: 6,
      droppedMessages: 0,
      backup: join(dir, 'hole_0.mcap.orig'),
    });
    // The hole is the lost chunk's place: zeros, skipped up to the next chunk whose CRC checks.
    expect(repair.files[0]!.damage).toEqual([
      expect.objectContaining({ problem: expect.stringMatching(/no record has opcode 0/) }),
    ]);
    expect(repair.files[0]!.droppedBytes).toBe(repair.files[0]!.damage[0]!.length);
    expect(readFileSync(join(dir, 'hole_0.mcap.orig')).equals(before)).toBe(true);
    const after = readFileSync(join(dir, 'hole_0.mcap'));
    const stream = new McapStreamReader();
    stream.append(after);
    const logTimes: bigint[] = [];
    for (let r = stream.nextRecord(); r; r = stream.nextRecord()) if (r.type === 'Message') logTimes.push(r.logTime);
    expect(stream.done()).toBe(true);
    expect(logTimes).toEqual([1n, 2n, 5n, 6n, 7n, 8n]);
  });

  it('while the disk is behind, writes what follows in fewer, larger writes, and the file reads back whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcap-batch-'));
    dirs.push(dir);
    const path = join(dir, 'batch.mcap');
    const real = await fsSegmentIO.create(path);
    const sizes: number[] = [];
    // A disk behind the writer: its first write waits until every message has been added.
    let caughtUp = () => {};
    const behind = new Promise<void>((resolve) => (caughtUp = resolve));
    const file: SegmentFile = {
      writev: async (pieces, position) => {
        sizes.push(pieces.reduce((n, p) => n + p.byteLength, 0));
        await behind;
        await real.writev(pieces, position);
      },
      sync: () => real.sync(),
      close: () => real.close(),
    };
    const writer = new McapSegmentWriter({ file, chunkSize: 1000 });
    const ch = writer.addChannel({ topic: '/a', schemaId: 0, messageEncoding: 'cdr', metadata: new Map() });
    for (let i = 0; i < 100; i++) writer.addMessage(ch, BigInt(i + 1), BigInt(i + 1), bytes(600, i)); // 50 chunks
    caughtUp();
    await writer.end();
    expect(sizes.length).toBeLessThan(10); // header, a chunk or two, then batches, the summary
    expect(Math.max(...sizes)).toBeGreaterThan(20 * 1000);
    const bytesOnDisk = readFileSync(path);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(bytesOnDisk.byteLength);
    const reader = await McapIndexedReader.Initialize({
      readable: {
        size: async () => BigInt(bytesOnDisk.byteLength),
        read: async (o, l) => bytesOnDisk.subarray(Number(o), Number(o + l)),
      },
    });
    expect(reader.chunkIndexes.length).toBe(50);
    const logTimes: bigint[] = [];
    for await (const m of reader.readMessages()) logTimes.push(m.logTime);
    expect(logTimes).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i + 1)));
  });
});
