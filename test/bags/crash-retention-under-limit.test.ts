import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';

/**
 * A retention pass killed right after deleting the last split it had to delete. The split no longer counts
 * toward max_bytes, so the next pass is under the limit and deletes nothing: with 70ef933 alone (which
 * takes a gone split off its bag's metadata.yaml only when that pass deletes its row) the bag's
 * metadata.yaml listed the deleted split for good (the crash-point sweep, test/crash-torture/sweep.ts:
 * retention #52-54, start-retention #71-73).
 */

const registry = new DefinitionsRegistry();
const work = tempDir('crash-retention-limit-');
afterAll(() => work.cleanup());

const settings = (maxBytes: number) => ({ max_bytes: maxBytes, max_age_hours: 0, allow_unsynced_delete: true });

describe('a retention pass killed right after deleting the last split it had to', () => {
  it('the next pass, under max_bytes, still takes the split off its bag metadata.yaml', async () => {
    const dataDir = join(work.path, 'limit');
    const { bag, files } = await recordSmallBag(dataDir, registry, 320);
    for (const file of files) await importBag({ path: bag, only: [file], dataDir, robot: 'r1', registry, source: 'recorder' });
    const { totalBytes } = await applyRetention({ dataDir, settings: settings(0), syncRequired: false });
    // One byte over: the pass deletes the oldest split and its files, and dies right after the split.
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'bags', 'crash-retention-child.ts'), dataDir, '\\.mcap$', String(totalBytes - 1)], { cwd: ROOT, encoding: 'utf8' });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    expect(existsSync(files[0]!)).toBe(false);

    const next = await applyRetention({ dataDir, settings: settings(totalBytes - 1), syncRequired: false });
    expect(next.deleted).toEqual([]); // under the limit now: nothing is due
    const meta = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(meta.files.map((f) => join(bag, f.path))).toEqual(files.slice(1));
  });
});
