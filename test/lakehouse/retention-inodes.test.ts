import { existsSync, mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { freeInodesTarget } from '../../daemon/lakehouse/disk-space.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { canMountTmpfs, mountSmallTmpfs } from '../helpers/small-tmpfs.ts';
import { RETENTION_DEFAULTS } from '../helpers/test-lakehouse.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack(afterAll);

/**
 * A file system full of small files has bytes left and no inodes: the recorder stops below 16 free inodes,
 * and only deleting files frees inodes. Retention used to look at bytes only, so the recorder stayed
 * stopped for good (found with `nr_inodes=150`). On a real tmpfs with few inodes.
 */
describe.runIf(canMountTmpfs())('retention keeps free inodes for the recorder', () => {
  it('deletes the oldest splits (and their parquet) while free inodes are below the target, with bytes to spare', async () => {
    const disk = mountSmallTmpfs('16m', 'nr_inodes=300');
    cleanups.push(disk.cleanup);
    const dataDir = join(disk.path, 'data');
    const registry = new DefinitionsRegistry();
    const { bag, files } = await recordSmallBag(dataDir, registry);
    for (const file of files)
      await importBag({ path: bag, only: [file], dataDir, robot: 'r1', registry, source: 'recorder' });
    const inodes = () => statfsSync(disk.path).ffree;
    const target = freeInodesTarget(statfsSync(disk.path).files);
    expect(target).toBe(46); // 16 for the recorder, and a margin: a tenth of 300
    // Another program's small files take all but 40 inodes; megabytes stay free.
    mkdirSync(join(disk.path, 'other'));
    for (let i = 0; inodes() > 40; i++) writeFileSync(join(disk.path, 'other', `f${i}`), 'x');
    expect(statfsSync(disk.path).bavail * statfsSync(disk.path).bsize).toBeGreaterThan(8_000_000);

    const r = await applyRetention({
      dataDir,
      settings: RETENTION_DEFAULTS,
      syncRequired: false,
      keep: [files.at(-1)!],
      minFreeBytes: 65_536,
    });
    expect(r.deleted.length).toBeGreaterThan(0);
    expect(r.deleted.every((d) => d.why === 'free_space')).toBe(true);
    expect(inodes()).toBeGreaterThanOrEqual(target);
    expect(existsSync(files[0]!)).toBe(false); // oldest first
    expect(existsSync(files.at(-1)!)).toBe(true);
    expect(r.lowSpace).toMatch(/^deleted the \d+ oldest file\(s\) to keep \d+ bytes and 46 inodes free/);

    // Nothing of ours left to delete but the split being recorded: said so, and what to do.
    for (let i = 0; inodes() > 20; i++) writeFileSync(join(disk.path, 'other', `g${i}`), 'x');
    const stuck = await applyRetention({
      dataDir,
      settings: RETENTION_DEFAULTS,
      syncRequired: false,
      keep: [files.at(-1)!],
      minFreeBytes: 65_536,
      recording: () => ({ files: [files.at(-1)!], bags: [bag], closing: [] }),
    });
    expect(stuck.lowSpace).toMatch(
      /^\d+ inodes free on the data dir's file system, below the 46 retention keeps for the recorder \(it stops below 16\), and nothing retention may delete is left but what the recorder holds .*: delete files outside the data dir$/,
    );
  });
});
