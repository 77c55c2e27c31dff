import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { parseMetadata, RETENTION_DELETED_KEY } from '../../daemon/bags/metadata.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { bagInfo } from '../../daemon/bags/bag-info.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { bundleChild } from '../helpers/fast-child.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';

/**
 * A retention pass killed (kill -9, a power cut) between deleting a recorded split and taking it off its
 * bag's metadata.yaml. Found by the crash torture harness (seed 30, round 14): the next pass found the split
 * already gone and skipped the bag's metadata.yaml, which listed the deleted split for good; once the bag's
 * last split went the same way, its directory stayed, and `bag info` on it said `not a bag: its
 * metadata.yaml names no storage file that exists`.
 */

const registry = new DefinitionsRegistry();
const work = tempDir('crash-retention-');
// The retention child is started four times: compiled once, it starts without tsx's loader.
let child: Awaited<ReturnType<typeof bundleChild>>;
beforeAll(async () => {
  child = await bundleChild(join(ROOT, 'test', 'lakehouse', 'crash-retention-child.ts'));
});
afterAll(() => {
  child?.cleanup();
  work.cleanup();
});

async function indexedBag(name: string, messages: number) {
  const dataDir = join(work.path, name);
  const { bag, files } = await recordSmallBag(dataDir, registry, messages);
  for (const file of files)
    await importBag({ path: bag, only: [file], dataDir, robot: 'r1', registry, source: 'recorder' });
  return { dataDir, bag, files };
}

/**
 * Runs a retention pass (max_bytes 1 unless given: everything goes) in a child that dies right after deleting the first
 * file matching `pattern`.
 */
function crashAfterDeleting(dataDir: string, pattern: string, maxBytes = 1): void {
  const pass = spawnSync(process.execPath, child.args(dataDir, pattern, String(maxBytes)), {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(pass.signal, pass.stderr).toBe('SIGKILL');
}
const crashAfterFirstSplitDeleted = (dataDir: string) => crashAfterDeleting(dataDir, '\\.mcap$');

const listed = (bag: string) => parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
const settings = (maxBytes: number) => ({ max_bytes: maxBytes, max_age_hours: 0, allow_unsynced_delete: true });

describe('a retention pass killed right after deleting a recorded split', () => {
  it('the next pass takes the split off its bag metadata.yaml, which lists only files on disk again', async () => {
    const { dataDir, bag, files } = await indexedBag('split', 320);
    expect(files.length).toBe(4);
    crashAfterFirstSplitDeleted(dataDir);
    expect(existsSync(files[0]!)).toBe(false);
    expect(listed(bag).files.map((f) => join(bag, f.path))).toEqual(files); // the crash's state: listed, gone

    const { totalBytes } = await applyRetention({ dataDir, settings: settings(0), syncRequired: false });
    await applyRetention({ dataDir, settings: settings(totalBytes - 1), syncRequired: false });
    const meta = listed(bag);
    expect(meta.files.map((f) => join(bag, f.path)).filter((f) => !existsSync(f))).toEqual([]);
    expect(meta.customData[RETENTION_DELETED_KEY]?.split(',')).toContain(`${files[0]!.slice(bag.length + 1)}`);
    expect((await bagInfo(bag)).warnings).toEqual([]);
  });

  it('a bag whose only split it was is removed by the next pass, not left as a metadata.yaml naming nothing', async () => {
    const { dataDir, bag, files } = await indexedBag('single', 40);
    expect(files.length).toBe(1);
    crashAfterFirstSplitDeleted(dataDir);
    expect(existsSync(bag)).toBe(true);

    await applyRetention({ dataDir, settings: settings(1), syncRequired: false });
    expect(existsSync(bag)).toBe(false);
  });
});

describe('a retention pass killed right after deleting the last split it had to', () => {
  // The split no longer counts toward max_bytes, so the next pass is under the limit and deletes nothing: the
  // bag's metadata.yaml listed the deleted split for good (the crash-point sweep, test/crash-torture/sweep.ts:
  // retention #52-54, start-retention #71-73).
  it('the next pass, under max_bytes, still takes the split off its bag metadata.yaml', async () => {
    const { dataDir, bag, files } = await indexedBag('limit', 320);
    const { totalBytes } = await applyRetention({ dataDir, settings: settings(0), syncRequired: false });
    crashAfterDeleting(dataDir, '\\.mcap$', totalBytes - 1); // one byte over: the oldest split goes
    expect(existsSync(files[0]!)).toBe(false);

    const next = await applyRetention({ dataDir, settings: settings(totalBytes - 1), syncRequired: false });
    expect(next.deleted).toEqual([]); // under the limit now: nothing is due
    expect(listed(bag).files.map((f) => join(bag, f.path))).toEqual(files.slice(1));
  });
});

describe('a retention pass killed between the parquet files of one segment', () => {
  // The segment's row was kept with its other file, so `count(*) FROM messages` stayed below the catalog's
  // message counts for good (the crash-point sweep: retention #56-57, start-retention #75-76).
  it('the next pass ends with the messages table and the catalog agreeing', async () => {
    const { dataDir } = await indexedBag('partial', 320);
    crashAfterDeleting(dataDir, '/tables/messages/.*\\.parquet$');
    const counts = async () =>
      (
        await queryLakehouse(
          dataDir,
          'SELECT (SELECT count(*) FROM messages)::INTEGER, (SELECT coalesce(sum(message_count), 0)::INTEGER FROM bags)',
        )
      ).rows[0]!;
    const [table, catalog] = await counts();
    expect(table).toBeLessThan(catalog as number); // the crash's state: a row whose messages are half gone

    const { totalBytes } = await applyRetention({ dataDir, settings: settings(0), syncRequired: false });
    // under max_bytes: nothing else is due
    await applyRetention({ dataDir, settings: settings(totalBytes), syncRequired: false });
    const [after, catalogAfter] = await counts();
    expect(after).toBe(catalogAfter);
  });
});
