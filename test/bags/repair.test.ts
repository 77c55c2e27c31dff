import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCompressor } from '../../daemon/recorder/chunk-compression.ts';
import { McapSegmentWriter } from '../../daemon/recorder/mcap-segment-writer.ts';
import { repairBag } from '../../daemon/recorder/repair.ts';
import { fsSegmentIO } from '../../daemon/recorder/segment-io.ts';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { FIXTURES, runCli, runMain, tempDir } from '../helpers/cli.ts';
import { mcapMessageCount } from '../helpers/mcap-file.ts';
import { copyBag as copyFolder, folderSnapshot } from '../helpers/bag-copy.ts';

/** A foreign bag (rosbags-rs, metadata.yaml version 5): one uncompressed chunk of 188 messages from byte 44. */
const FOREIGN = join(FIXTURES, 'bags/rosbags-rs/test_bag_mcap');
const SPLIT = 'test_bag_mcap.mcap';
const work = tempDir('repair-');
afterAll(() => work.cleanup());

function copyBag(name: string, change?: (bytes: Buffer) => void): { dir: string; file: string; bytes: Buffer } {
  const dir = copyFolder(FOREIGN, work.path, name);
  const file = join(dir, SPLIT);
  const bytes = readFileSync(file);
  change?.(bytes);
  writeFileSync(file, bytes);
  return { dir, file, bytes };
}

describe('bag repair never deletes or empties what it cannot read', () => {
  it('a rewrite that fails (disk full) leaves the split as it was, and no half-written copy or open file behind', async () => {
    const { dir, file, bytes } = copyBag('disk-full', (b) => (b[1]! ^= 0x01));
    let closed = 0;
    const io = {
      ...fsSegmentIO,
      create: async (path: string) => {
        const real = await fsSegmentIO.create(path);
        return {
          writev: async () =>
            Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })),
          sync: () => real.sync(),
          close: async () => {
            closed++;
            await real.close();
          },
        };
      },
    };
    await expect(repairBag(dir, { io })).rejects.toThrow('ENOSPC');
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.repairing'))).toEqual([]);
    expect(closed).toBeGreaterThanOrEqual(1);
  });

  it('a flipped bit in the MCAP magic: every message is recovered from the chunk, the original kept as .orig', async () => {
    const { dir, file, bytes } = copyBag('magic', (b) => (b[1]! ^= 0x01));
    const r = await runCli(['bag', 'repair', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `${file}: repaired, 188 messages kept; 8 bytes held no readable record (8 from byte 0: no MCAP magic at its start); the original is kept as ${file}.orig\n`,
    );
    expect(readFileSync(`${file}.orig`).equals(bytes)).toBe(true);
    expect(await mcapMessageCount(file)).toBe(188);
    const info = await runMain(['bag', 'info', dir]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/Messages: +188\n/);
  });

  it("a flipped bit in the header record's length: the same", async () => {
    const { dir, file } = copyBag('header-length', (b) => (b[9]! ^= 0x80));
    const r = await runMain(['bag', 'repair', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /repaired, 188 messages kept; \d+ bytes held no readable record \(\d+ from byte 8: .*\); the original is kept as .*test_bag_mcap\.mcap\.orig\n/,
    );
    expect(await mcapMessageCount(file)).toBe(188);
  });

  it('header unreadable and no chunk that checks: refused with exit 1, nothing in the bag modified', async () => {
    const { dir, file } = copyBag('unreadable', (b) => {
      b[1]! ^= 0x01;
      b[44] = 0; // the chunk's opcode: no chunk is left to find
    });
    const before = folderSnapshot(dir);
    const r = await runMain(['bag', 'repair', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `auraison-edge bag: ${file}: header unreadable (no MCAP magic at its start) and no chunk in it checks; not modified, and nothing else in the bag either. Try \`mcap recover\` on a copy of it, or move it out of the bag directory and run \`auraison-edge bag repair\` again for the rest\n`,
    );
    expect(folderSnapshot(dir)).toEqual(before);
  });

  it('a 0-byte split is left in place, not listed', async () => {
    const { dir } = copyBag('empty-split');
    writeFileSync(join(dir, 'test_bag_mcap_1.mcap'), '');
    const r = await runMain(['bag', 'repair', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `${join(dir, 'test_bag_mcap_1.mcap')}: empty (0 bytes), left as it is and not listed in metadata.yaml\n`,
    );
    expect(existsSync(join(dir, 'test_bag_mcap_1.mcap'))).toBe(true);
    expect(existsSync(join(dir, SPLIT))).toBe(true);
  });

  it('an existing backup is never overwritten: the next one is .orig.1', async () => {
    const { dir, file, bytes } = copyBag('backup-taken', (b) => (b[1]! ^= 0x01));
    writeFileSync(`${file}.orig`, 'an older backup');
    const r = await runMain(['bag', 'repair', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`the original is kept as ${file}.orig.1\n`);
    expect(readFileSync(`${file}.orig`, 'utf8')).toBe('an older backup');
    expect(readFileSync(`${file}.orig.1`).equals(bytes)).toBe(true);
  });

  it('a chunk whose CRC fails is skipped; the chunks after it are recovered', async () => {
    const dir = join(work.path, 'bad-crc');
    mkdirSync(dir);
    const file = join(dir, 'bad-crc_0.mcap');
    const writer = new McapSegmentWriter({ file: await fsSegmentIO.create(file), chunkSize: 1000 });
    const channel = writer.addChannel({ topic: '/a', schemaId: 0, messageEncoding: 'cdr', metadata: new Map() });
    // two per chunk
    for (let i = 0; i < 10; i++) writer.addMessage(channel, BigInt(i + 1), BigInt(i + 1), new Uint8Array(600).fill(i));
    await writer.abandon(); // no footer: as a crash leaves it
    const bytes = readFileSync(file);
    const second = bytes.indexOf(Buffer.from(new Uint8Array(600).fill(2)));
    bytes[second + 100]! ^= 0x01; // a message of the second chunk: its CRC no longer checks
    writeFileSync(file, bytes);
    const r = await runMain(['bag', 'repair', dir, '--json']);
    expect(r.code).toBe(0);
    const [report] = JSON.parse(r.stdout).files;
    expect(report).toMatchObject({ state: 'repaired', messages: 8, backup: `${file}.orig` });
    expect(report.damage).toEqual([
      expect.objectContaining({ problem: expect.stringMatching(/^incorrect chunk CRC/) }),
    ]);
    expect(await mcapMessageCount(file)).toBe(8);
  });

  it('an lz4 chunk that fails to decompress does not stop the later ones from being read', async () => {
    const dir = join(work.path, 'lz4');
    mkdirSync(dir);
    const file = join(dir, 'lz4_0.mcap');
    const writer = new McapSegmentWriter({
      file: await fsSegmentIO.create(file),
      compression: 'lz4',
      compressor: await loadCompressor('lz4'),
      chunkSize: 1000,
    });
    const channel = writer.addChannel({ topic: '/a', schemaId: 0, messageEncoding: 'cdr', metadata: new Map() });
    for (let i = 0; i < 10; i++)
      writer.addMessage(
        channel,
        BigInt(i + 1),
        BigInt(i + 1),
        new Uint8Array(600).map((_, k) => (k * 31 + i * 7) ^ (k >> 3)),
      ); // two per chunk
    await writer.abandon();
    const bytes = readFileSync(file);
    // The second chunk's lz4 frame: a flipped bit in its frame descriptor fails the decompression itself.
    let at = 8;
    const chunks: number[] = [];
    while (at < bytes.length) {
      if (bytes[at] === 0x06) chunks.push(at);
      at += 9 + Number(bytes.readBigUInt64LE(at + 1));
    }
    bytes[chunks[1]! + 9 + 40 + 'lz4'.length + 7]! ^= 0x01;
    writeFileSync(file, bytes);
    const r = await runMain(['bag', 'repair', dir, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).files[0]).toMatchObject({
      state: 'repaired',
      messages: 8,
      damage: [{ offset: chunks[1] }],
    });
    expect(await mcapMessageCount(file)).toBe(8);
  });

  it('a damaged index record of a whole file: rewritten with a new index, nothing else lost, no backup needed', async () => {
    // The first message index record after the chunk (at 71307): its list length now claims more than it holds.
    const { dir, file } = copyBag('index', (b) => b.writeUInt32LE(0xffff, 71307 + 9 + 2));
    expect(readFileSync(file)[71307]).toBe(0x07);
    const r = await runMain(['bag', 'repair', dir, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout).files[0];
    expect(report).toMatchObject({ state: 'repaired', messages: 188, damage: [{ offset: 71307, indexOnly: true }] });
    expect(report.backup).toBeUndefined();
    expect(await mcapMessageCount(file)).toBe(188);
  });
});

describe('bag repair leaves alone what needs no repair', () => {
  it('an intact foreign bag (metadata.yaml version 5, from rosbags-rs): nothing to repair, nothing written', async () => {
    const { dir } = copyBag('intact');
    const before = folderSnapshot(dir);
    const r = await runMain(['bag', 'repair', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `${join(dir, SPLIT)}: intact, 188 messages\n${dir}: nothing to repair: every split is whole and metadata.yaml lists them (188 messages); nothing was changed\n`,
    );
    expect(folderSnapshot(dir)).toEqual(before);
  });

  it('a split cut in half: the figure is the bytes of the original that held no record (never negative), and a metadata.yaml that still lists it rightly is kept', async () => {
    const { dir, file, bytes } = copyBag('half');
    truncateSync(file, Math.floor(bytes.length / 2));
    const metadata = readFileSync(join(dir, 'metadata.yaml'), 'utf8');
    const r = await runMain(['bag', 'repair', dir, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    // The cut fell in a message index record after the chunk: all 188 messages are there, the index is rebuilt.
    expect(report.files[0]).toMatchObject({
      state: 'repaired',
      messages: 188,
      droppedBytes: 45,
      damage: [{ offset: 75161, length: 45, indexOnly: true }],
    });
    expect(report.files[0].backup).toBeUndefined();
    expect(report.metadataRewritten).toBe(false);
    expect(readFileSync(join(dir, 'metadata.yaml'), 'utf8')).toBe(metadata);
    expect(await mcapMessageCount(file)).toBe(188);
  });

  it('a metadata.yaml it did not write is kept as metadata.yaml.orig before it is rewritten', async () => {
    const { dir, file } = copyBag('unlisted-split');
    copyFileSync(file, join(dir, 'test_bag_mcap_1.mcap')); // a second split metadata.yaml does not list
    const metadata = readFileSync(join(dir, 'metadata.yaml'), 'utf8');
    const r = await runMain(['bag', 'repair', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `${dir}: metadata.yaml rewritten, 376 messages; the old one kept as ${join(dir, 'metadata.yaml.orig')}\n`,
    );
    expect(readFileSync(join(dir, 'metadata.yaml.orig'), 'utf8')).toBe(metadata);
    expect(
      parseMetadata(readFileSync(join(dir, 'metadata.yaml'), 'utf8'), 'metadata.yaml').relativeFilePaths.sort(),
    ).toEqual([SPLIT, 'test_bag_mcap_1.mcap'].sort());
  });
});
