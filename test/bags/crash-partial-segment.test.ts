import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';

/**
 * A retention pass killed between deleting a recorded segment's `messages` parquet file
 * and its topic file left a segment row whose messages were half gone; forgetMissingParquet then kept the
 * row with its other file, so `count(*) FROM messages` stayed below the catalog's message counts for good
 * (the crash-point sweep, test/crash-torture/sweep.ts: retention and start-retention, changes #56-57
 * and #75-76).
 */

const registry = new DefinitionsRegistry();
const work = tempDir('crash-partial-');
afterAll(() => work.cleanup());

const settings = (maxBytes: number) => ({ max_bytes: maxBytes, max_age_hours: 0, allow_unsynced_delete: true });

describe('a retention pass killed between the files of one segment', () => {
  it('the next pass ends with the messages table and the catalog agreeing', async () => {
    const dataDir = join(work.path, 'partial');
    const { bag, files } = await recordSmallBag(dataDir, registry, 320);
    for (const file of files) await importBag({ path: bag, only: [file], dataDir, robot: 'r1', registry, source: 'recorder' });
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'bags', 'crash-retention-child.ts'), dataDir, '/tables/messages/.*\\.parquet$', '1'], { cwd: ROOT, encoding: 'utf8' });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const counts = async () => (await queryLakehouse(dataDir, 'SELECT (SELECT count(*) FROM messages)::INTEGER, (SELECT coalesce(sum(message_count), 0)::INTEGER FROM bags)')).rows[0]!;
    const [table, catalog] = await counts();
    expect(table).toBeLessThan(catalog as number); // the crash's state: a row whose messages are half gone

    const { totalBytes } = await applyRetention({ dataDir, settings: settings(0), syncRequired: false });
    await applyRetention({ dataDir, settings: settings(totalBytes), syncRequired: false }); // under max_bytes: nothing else is due
    const [after, listed] = await counts();
    expect(after).toBe(listed);
  });
});
