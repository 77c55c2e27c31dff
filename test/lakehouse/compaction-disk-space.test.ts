import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { lakehousePaths } from '../../daemon/lakehouse/catalog.ts';
import { compactLakehouse, CompactionError } from '../../daemon/lakehouse/compaction.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { listParquet } from '../../daemon/lakehouse/parquet-files.ts';
import { runMain } from '../helpers/cli.ts';
import { recordedSegments } from '../helpers/lakehouse-segments.ts';
import { canMountTmpfs, fillDisk, mountSmallTmpfs } from '../helpers/small-tmpfs.ts';

// A merge writes its merged files while the old ones still exist: on a nearly full disk `lakehouse compact`
// must not take the space the recorder needs, nor start a merge it has no room for.

describe.runIf(canMountTmpfs())('lakehouse compact on a nearly full disk', () => {
  const registry = new DefinitionsRegistry();
  let fs: ReturnType<typeof mountSmallTmpfs>;
  let dataDir = '';
  beforeAll(async () => {
    fs = mountSmallTmpfs('8m');
    dataDir = join(fs.path, 'data');
    await recordedSegments(dataDir, registry, 12);
  }, 30_000);
  afterAll(() => fs?.cleanup());

  const config = (text: string) => {
    const path = join(fs.path, 'edge.yaml');
    writeFileSync(path, `data_dir: ${dataDir}\n${text}`);
    return path;
  };
  const tables = () => listParquet(lakehousePaths(dataDir).tables).length;
  const staging = () =>
    existsSync(lakehousePaths(dataDir).staging) ? readdirSync(lakehousePaths(dataDir).staging) : [];
  const rows = async () => (await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM messages')).rows[0]![0];

  it('keeps what retention keeps free for the recorder, as the daemon does, and says what to do', async () => {
    // 1.5 MB free; a recorder with min_free_bytes 1 MiB keeps that plus a tenth of the disk free.
    const fill = fillDisk(fs.path, 1_500_000);
    try {
      const r = await runMain([
        'lakehouse',
        'compact',
        '--all',
        '--config',
        config('recorder:\n  enabled: true\n  min_free_bytes: 1048576\n'),
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('nothing was merged: 24 parquet files listed\n');
      expect(r.stderr).toMatch(
        new RegExp(
          `^auraison-edge lakehouse compact: not enough free space for the next merge: it needs \\d+\\.\\d kB for the merged files beside those they replace plus 1\\.9 MB kept free for the recorder \\(recorder\\.min_free_bytes and a margin\\), and 1\\.\\d MB are free under ${dataDir}; 2 merges left as they were\\. Free space there \\(retention, or delete old bags\\) and run again\\n$`,
        ),
      );
      expect(tables()).toBe(24);
      // Without a recorder in the config, that space may be used.
      const json = await runMain(['lakehouse', 'compact', '--all', '--json', '--config', config('')]);
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ files_before: 24, files_after: 4, stopped_by: null });
    } finally {
      fill.free();
    }
    expect(await rows()).toBe(12 * 40);
  });

  it('a full disk: no merge is started; a write that fails for space anyway changes nothing, leaves no staging, says what to do and is tried again', async () => {
    // Nothing left to merge from the first test: make new small files again by indexing more splits.
    const more = await recordedSegments(join(fs.path, 'more'), registry, 6);
    expect(more.ids).toHaveLength(6);
    const dir = join(fs.path, 'more');
    const moreConfig = join(fs.path, 'more.yaml');
    writeFileSync(moreConfig, `data_dir: ${dir}\n`);
    const fill = fillDisk(fs.path);
    try {
      const r = await runMain(['lakehouse', 'compact', '--all', '--json', '--config', moreConfig]);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({
        merged: [],
        files_before: 12,
        files_after: 12,
        pending: 1,
        failed: [],
        stopped_by: 'no room',
      });
      expect(r.stderr).toMatch(
        /not enough free space for the next merge: it needs \d+\.\d kB for the merged files beside those they replace, and 0\.\d kB are free under /,
      );
      // A merge the disk fills under (the check passed; another writer took the space meanwhile).
      const failing = compactLakehouse({ dataDir: dir, afterS: 0, maxBytes: 256 << 20, roomFor: async () => true });
      await expect(failing).rejects.toThrow(CompactionError);
      const error = (await failing.catch((e: unknown) => e)) as CompactionError;
      expect(error.transient).toBe(true);
      expect(error.message).toMatch(
        new RegExp(
          `^compacting segments ${more.ids[0]}\\+6 failed, nothing was changed: .*No space left on device.*; free space under ${dir} \\(retention, or delete old bags\\) and compact again$`,
          's',
        ),
      );
      expect(listParquet(lakehousePaths(dir).tables)).toHaveLength(12);
      expect(readdirSync(lakehousePaths(dir).staging)).toEqual([]);
    } finally {
      fill.free();
    }
    const again = await compactLakehouse({ dataDir: dir, afterS: 0, maxBytes: 256 << 20 });
    expect(again.merged).toHaveLength(1);
    expect((await queryLakehouse(dir, 'SELECT count(*)::INTEGER FROM messages')).rows[0]![0]).toBe(6 * 40);
    expect(staging()).toEqual([]);
  });
});
