import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';
import { canMountTmpfs, fillDisk, mountSmallTmpfs } from '../helpers/small-tmpfs.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack(afterAll);

/** `lerobot export` to a real tmpfs with 8 KiB left, then with room: the dataset and its temporary files need more. */
describe.runIf(canMountTmpfs())('lerobot export onto a full disk', () => {
  it('says which disk is full, how full, that nothing was written and what to do; leaves nothing; the same export works once there is room', async () => {
    const work = tempDir('disk-full-lerobot-');
    cleanups.push(work.cleanup);
    const db = join(work.path, 'topics.duckdb');
    const instance = await DuckDBInstance.create(db);
    const conn = await instance.connect();
    await conn.run(
      `CREATE TABLE "/s" AS SELECT 1700000000000000000 + i * 10000000 AS log_time, [i, -i, i * 2]::DOUBLE[] AS position FROM range(2000) t(i)`,
    );
    conn.closeSync();
    instance.closeSync();
    const disk = mountSmallTmpfs('2m');
    cleanups.push(disk.cleanup);
    const filler = fillDisk(disk.path, 8192);
    const out = join(disk.path, 'dataset');
    const args = [
      'lerobot',
      'export',
      out,
      '--db',
      db,
      '--fps',
      '100',
      '--feature',
      'observation.state=/s:position',
      '--window',
      '1700000000000000000,1700000019990000000',
    ];

    const full = await runMain(args);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/No space left on device|ENOSPC/);
    expect(full.stderr).toMatch(
      new RegExp(
        `\\nauraison-edge lerobot export: the disk under ${disk.path} is full \\(\\d+ KiB free of 2.0 MiB\\): nothing was written \\(${out} was not made\\)\\. Free space there, or give an OUT on a disk with room, and run the same export again\\n$`,
      ),
    );
    expect(readdirSync(disk.path)).toEqual(['filler']); // no dataset, no hidden partial one

    filler.free();
    const again = await runMain(args);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^wrote .*: LeRobot v3\.0, 1 episodes, \d+ frames at 100 fps\n/);
  });
});
