import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { McapStreamReader, McapWriter, type TypedMcapRecord } from '@mcap/core';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, tempDir } from '../../test/helpers/paths.ts';
import { crc32 } from '../util/crc32.ts';
import { decompressHandlers } from './decompress.ts';
import { McapFormatError, readMcap, type McapMessage } from './mcap-stream.ts';

const work = tempDir('mcap-stream-');
afterAll(() => work.cleanup());

function mcapFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? mcapFiles(join(dir, e.name)) : e.name.endsWith('.mcap') ? [join(dir, e.name)] : [],
  );
}

async function ours(
  file: string,
  blockSize?: number,
): Promise<{ topic: string; logTime: bigint; publishTime: bigint; data: number[] }[]> {
  const fh = await open(file, 'r');
  try {
    const out: { topic: string; logTime: bigint; publishTime: bigint; data: number[] }[] = [];
    for await (const batch of readMcap(fh, statSync(file).size, await decompressHandlers(), () => undefined, blockSize))
      for (const m of batch) out.push(plain(m));
    return out;
  } finally {
    await fh.close();
  }
}

function plain(m: McapMessage) {
  return { topic: m.topic, logTime: m.logTime, publishTime: m.publishTime, data: Array.from(m.data) };
}

/** What @mcap/core's stream reader reads from the same bytes. */
async function theirs(file: string) {
  const reader = new McapStreamReader({ decompressHandlers: await decompressHandlers(), validateCrcs: true });
  reader.append(readFileSync(file));
  const topics = new Map<number, string>();
  const out: { topic: string; logTime: bigint; publishTime: bigint; data: number[] }[] = [];
  for (let r: TypedMcapRecord | undefined; (r = reader.nextRecord());) {
    if (r.type === 'Channel') topics.set(r.id, r.topic);
    if (r.type === 'Message')
      out.push({
        topic: topics.get(r.channelId)!,
        logTime: r.logTime,
        publishTime: r.publishTime,
        data: Array.from(r.data),
      });
  }
  expect(reader.done()).toBe(true);
  return out;
}

async function failure(file: string, blockSize?: number): Promise<McapFormatError> {
  try {
    await ours(file, blockSize);
  } catch (error) {
    if (error instanceof McapFormatError) return error;
    throw error;
  }
  throw new Error(`${file} read without error`);
}

describe('readMcap', () => {
  it('reads every fixture MCAP message for message as @mcap/core does', async () => {
    const files = mcapFiles(join(FIXTURES, 'bags'));
    expect(files.length).toBeGreaterThan(10);
    let total = 0;
    for (const file of files) {
      const expected = await theirs(file);
      expect(await ours(file), file).toEqual(expected);
      total += expected.length;
    }
    expect(total).toBeGreaterThan(100);
  });

  it('reads the same with records crossing block boundaries (small blocks)', async () => {
    const files = mcapFiles(join(FIXTURES, 'bags')).filter((f) => statSync(f).size < 200_000);
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const expected = await ours(file);
      for (const blockSize of [17, 4096])
        expect(await ours(file, blockSize), `${file}, blocks of ${blockSize}`).toEqual(expected);
    }
  });

  it('computes the CRC-32 MCAP uses', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('reports a wrong chunk CRC, a truncated file and bytes after the footer, with where', async () => {
    const path = join(work.path, 'ok.mcap');
    const chunks: Uint8Array[] = [];
    const writer = new McapWriter({
      writable: {
        position: () => BigInt(chunks.reduce((a, c) => a + c.byteLength, 0)),
        write: async (b) => void chunks.push(b.slice()),
      },
      useChunks: true,
      chunkSize: 64,
    });
    await writer.start({ profile: 'ros2', library: 'test' });
    const channelId = await writer.registerChannel({
      topic: '/a',
      messageEncoding: 'cdr',
      schemaId: 0,
      metadata: new Map(),
    });
    for (let i = 0; i < 20; i++)
      await writer.addMessage({
        channelId,
        sequence: i,
        logTime: BigInt(i),
        publishTime: BigInt(i),
        data: new Uint8Array([i, i, i, i]),
      });
    await writer.end();
    const bytes = Buffer.concat(chunks);
    writeFileSync(path, bytes);
    expect((await ours(path)).map((m) => m.data[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));

    const truncated = join(work.path, 'truncated.mcap');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const cut = await failure(truncated);
    expect(cut.truncated).toBe(true);
    expect(cut.message).toMatch(/without its footer|runs past the end of the file/);

    // A record's length damaged in place, the file whole to its closing magic: corrupt, not truncated (repair,
    // which rewrites files that lost their footer, would leave it as it is).
    const damaged = Buffer.from(bytes);
    damaged.writeBigUInt64LE(1n << 40n, 9); // the header record's length field
    const lengthBad = join(work.path, 'length.mcap');
    writeFileSync(lengthBad, damaged);
    const wrong = await failure(lengthBad);
    expect(wrong.truncated).toBe(false);
    expect(wrong.offset).toBe(8);
    expect(wrong.message).toMatch(/claims 1099511627776 bytes.*the record's length is damaged/);

    // A string that is not UTF-8 (a channel's topic, in a file written without chunks) is named as such.
    const plainChunks: Uint8Array[] = [];
    const unchunked = new McapWriter({
      writable: {
        position: () => BigInt(plainChunks.reduce((a, c) => a + c.byteLength, 0)),
        write: async (b) => void plainChunks.push(b.slice()),
      },
      useChunks: false,
    });
    await unchunked.start({ profile: 'ros2', library: 'test' });
    await unchunked.addMessage({
      channelId: await unchunked.registerChannel({
        topic: '/a',
        messageEncoding: 'cdr',
        schemaId: 0,
        metadata: new Map(),
      }),
      sequence: 0,
      logTime: 0n,
      publishTime: 0n,
      data: new Uint8Array([1]),
    });
    await unchunked.end();
    const notText = Buffer.concat(plainChunks);
    notText[notText.indexOf(Buffer.from([2, 0, 0, 0, 0x2f, 0x61])) + 4] = 0xff;
    const topicBad = join(work.path, 'topic.mcap');
    writeFileSync(topicBad, notText);
    expect((await failure(topicBad)).message).toMatch(/a string field of 2 bytes is not valid UTF-8/);

    // A message's data byte changed inside the first chunk: the chunk CRC no longer matches.
    const corrupt = join(work.path, 'corrupt.mcap');
    const changed = Buffer.from(bytes);
    const at = changed.indexOf(Buffer.from([3, 3, 3, 3]));
    changed[at] = 99;
    writeFileSync(corrupt, changed);
    const bad = await failure(corrupt);
    expect(bad.truncated).toBe(false);
    expect(bad.message).toMatch(/incorrect chunk CRC/);
    expect(bad.offset).toBeGreaterThan(8);

    const trailing = join(work.path, 'trailing.mcap');
    writeFileSync(trailing, Buffer.concat([bytes, Buffer.from([1, 2, 3])]));
    expect((await failure(trailing)).message).toMatch(/3 bytes after the footer/);

    // The same errors at the same places when records cross block boundaries.
    for (const blockSize of [5, 17, 256]) {
      expect((await ours(path, blockSize)).map((m) => m.data[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
      for (const file of [truncated, corrupt, trailing]) {
        const [a, b] = [await failure(file), await failure(file, blockSize)];
        expect([b.message, b.offset, b.truncated], `${file}, blocks of ${blockSize}`).toEqual([
          a.message,
          a.offset,
          a.truncated,
        ]);
      }
      for (let cutAt = 0; cutAt < bytes.length; cutAt += 37) {
        writeFileSync(truncated, bytes.subarray(0, cutAt));
        const [a, b] = [await failure(truncated), await failure(truncated, blockSize)];
        expect([b.message, b.offset, b.truncated], `cut at ${cutAt}, blocks of ${blockSize}`).toEqual([
          a.message,
          a.offset,
          a.truncated,
        ]);
      }
    }
  });
});
