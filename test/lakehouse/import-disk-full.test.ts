import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { canMountTmpfs, mountSmallTmpfs } from '../helpers/small-tmpfs.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack(afterAll);

/**
 * A data dir on a real 100 KiB tmpfs: a bag of 2,000 messages does not fit in its lakehouse, and the new
 * catalog's first checkpoint fails too (DuckDB keeps its write-ahead log). Then the tmpfs grows (`mount -o
 * remount,size=`): space freed.
 */
describe.runIf(canMountTmpfs())('bag import onto a full disk', () => {
  it('says the disk is full, how full, and what to do; commits nothing, and the same import works once there is space', async () => {
    const work = tempDir('import-disk-full-');
    cleanups.push(work.cleanup);
    const { bag } = await recordSmallBag(join(work.path, 'rec'), new DefinitionsRegistry(), 2000);
    const disk = mountSmallTmpfs('100k');
    cleanups.push(disk.cleanup);
    const config = join(work.path, 'edge.yaml');
    writeFileSync(config, `data_dir: ${disk.path}\n`);

    const full = await runMain(['bag', 'import', bag, '--config', config], { cwd: work.path });
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/No space left on device/);
    expect(full.stderr).toMatch(new RegExp(`nothing was imported from ${bag}\\n`));
    expect(full.stderr).toMatch(
      new RegExp(
        `the disk under ${disk.path} is full \\(\\d+ KiB free of 100 KiB\\): free space there \\(delete old bags or lower retention\\.max_bytes, which the daemon applies\\) and run the same import again; bags already imported are skipped\\n$`,
      ),
    );
    // Nothing half-written is left: no parquet in tables/, no staging dir.
    const lakehouse = join(disk.path, 'lakehouse');
    expect(readdirSync(join(lakehouse, 'staging'))).toEqual([]);
    expect(readdirSync(lakehouse, { recursive: true }).filter((f) => String(f).endsWith('.parquet'))).toEqual([]);

    // Space freed: the same import, on the same data dir, catalog included.
    disk.resize('8m');
    const again = await runMain(['bag', 'import', bag, '--config', config], { cwd: work.path });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/imported 2000 messages/);
    const count = await runMain(
      ['query', 'SELECT count(*)::INTEGER AS n FROM messages', '--config', config, '--json'],
      { cwd: work.path },
    );
    expect(JSON.parse(count.stdout).rows).toEqual([[2000]]);
  });
});
