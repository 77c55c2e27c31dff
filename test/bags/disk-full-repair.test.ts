import { cpSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { McapIndexedReader } from '@mcap/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RECORDING_MARKER } from '../../daemon/recorder/recorder.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { canMountTmpfs, fillDisk, mountSmallTmpfs } from '../helpers/small-tmpfs.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack(afterAll);

/** A byte offset in the middle of the middle chunk of a finished MCAP file (from its chunk index). */
async function midChunk(path: string): Promise<number> {
  const file = readFileSync(path);
  const reader = await McapIndexedReader.Initialize({
    readable: {
      size: async () => BigInt(file.byteLength),
      read: async (offset, length) => file.subarray(Number(offset), Number(offset + length)),
    },
  });
  const chunks = [...reader.chunkIndexes].sort((a, b) => Number(a.chunkStartOffset - b.chunkStartOffset));
  const middle = chunks[Math.floor(chunks.length / 2)]!;
  return Number(middle.chunkStartOffset + middle.chunkLength / 2n);
}

/**
 * `bag repair` of a bag left open, on a real tmpfs with a page free: rewriting the cut split takes about its
 * size again. Run as people do when it fails: again, and again once space is freed.
 */
describe.runIf(canMountTmpfs())('bag repair on a full disk', () => {
  it('says the disk is full, how full, what it was writing and what to do; leaves no backup per attempt; works once there is room', async () => {
    const work = tempDir('disk-full-repair-');
    cleanups.push(work.cleanup);
    const { bag: recorded, files } = await recordSmallBag(work.path, new DefinitionsRegistry(), 320);
    const disk = mountSmallTmpfs('256k');
    cleanups.push(disk.cleanup);
    const bag = join(disk.path, 'bag');
    cpSync(recorded, bag, { recursive: true });
    const cut = files.at(-1)!.split('/').at(-1)!;
    // Killed mid-chunk: its bytes are kept as .orig. The cut is inside the split's middle chunk: a cut at half the
    // file could land on a record's end, and the repair would then lose nothing it could read, keeping no backup.
    truncateSync(join(bag, cut), await midChunk(join(bag, cut)));
    writeFileSync(join(bag, RECORDING_MARKER), '999999999\n');
    const before = readdirSync(bag).sort();
    fillDisk(disk.path, 4096);

    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await runMain(['bag', 'repair', bag]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^auraison-edge bag: ${bag}: the disk is full \\(\\d+ KiB free of 256 KiB\\): ENOSPC: no space left on device, write, rewriting ${cut} \\(\\d+ KiB\\), which takes about as much free space again until the copy replaces the original\\. ` +
            'The repair stopped there, and each split is whole or as it was: nothing was lost\\. Free space on that disk \\(or copy the bag to one with room\\) and run auraison-edge bag repair again\\n$',
        ),
      );
      // Nothing left behind: no `.orig` (then `.orig.1`, ...) per attempt, no half-written `.repairing` copy.
      expect(readdirSync(bag).sort()).toEqual(before);
    }

    disk.resize('4m');
    const r = await runMain(['bag', 'repair', bag]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const meta = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(meta.files).toHaveLength(4);
    expect(meta.messageCount).toBeGreaterThanOrEqual(240); // the cut half of the last split is lost
    expect(meta.messageCount).toBeLessThan(320);
    // one backup, of the one repair that rewrote the split
    expect(readdirSync(bag).filter((f) => f.startsWith(`${cut}.`))).toEqual([`${cut}.orig`]);
  });
});
