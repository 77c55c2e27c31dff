import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportLakehouseToLeRobot } from '../../adapters/lerobot/dataset/lakehouse-export.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { applyRetention, type RetentionOptions } from '../../daemon/lakehouse/retention.ts';
import { commitStaged } from '../../daemon/lakehouse/parquet-files.ts';
import { tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { RETENTION_DEFAULTS, testLakehouse } from '../helpers/test-lakehouse.ts';

// Files of the lakehouse that go away under it on a robot running for months: retention deleting the
// oldest data while a query reads it, parquet deleted by hand, a bag deleted by hand, a disk that fails a move.

const registry = new DefinitionsRegistry();
const work = tempDir('lakehouse-load-files-');
afterAll(() => work.cleanup());

/** A recorded bag of 320 messages in 4 splits, each indexed on its own as the daemon does (a segment each). */
async function indexedSplits(name: string) {
  const dataDir = join(work.path, name);
  const { bag, files } = await recordSmallBag(dataDir, registry);
  for (const file of files)
    await importBag({ path: bag, only: [file], dataDir, robot: 'r1', registry, source: 'recorder' });
  const catalog = lakehousePaths(dataDir).catalog;
  const segments = await withCatalog(catalog, async (c) =>
    (await c.runAndReadAll('SELECT path, parquet_files, message_count::INTEGER FROM bags ORDER BY seq')).getRowsJson(),
  );
  const parquet = segments.map((r) => (r[1] as string[]).map((f) => join(lakehousePaths(dataDir).tables, f)));
  return { dataDir, bag, files, parquet, counts: segments.map((r) => Number(r[2])) };
}

const count = async (dataDir: string, sql: string) => Number((await queryLakehouse(dataDir, sql)).rows[0]![0]);
const retention = (dataDir: string, extra: Partial<RetentionOptions> = {}) =>
  applyRetention({ dataDir, settings: { ...RETENTION_DEFAULTS, max_bytes: 0 }, syncRequired: false, ...extra });

describe('lakehouse files that go away under it', () => {
  it('a query whose files retention deletes as it starts runs again over what is left, instead of failing', async () => {
    const { dataDir, counts } = await indexedSplits('race');
    const total = (await retention(dataDir)).totalBytes;
    let deleted = 0;
    const result = await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM messages', {
      // Between reading the catalog and running the statement, as a retention pass in the daemon may:
      // the oldest split goes, with its parquet.
      viewsDefined: async () => {
        if (deleted === 0)
          deleted = (await retention(dataDir, { settings: { ...RETENTION_DEFAULTS, max_bytes: total - 1 } })).deleted
            .length;
      },
    });
    expect(deleted).toBe(1);
    expect(result.rows[0]![0]).toBe(320 - counts[0]!);
    expect(result.warnings).toBeUndefined();
  });

  it('parquet deleted by hand: one warning per table names the files, and the next retention pass (or start) takes them off the catalog', async () => {
    const { dataDir, files, parquet, counts } = await indexedSplits('by-hand');
    for (const p of parquet.slice(0, 3).flat()) rmSync(p);
    const warned = await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM "/chatter"');
    expect(warned.rows[0]![0]).toBe(counts[3]);
    expect(warned.warnings).toHaveLength(1); // "/chatter"'s, not one per file (the query reads no other table)
    expect(warned.warnings).toContainEqual(
      expect.stringMatching(
        /^3 parquet files \(.*topic_chatter.*, .* and .*\) of "\/chatter" are listed in the catalog but not on disk \(deleted by hand, or by retention or compaction as this query started\); their rows are left out\. The daemon takes parquet files missing from disk off the catalog/,
      ),
    );

    const pass = await retention(dataDir);
    expect(pass.forgotten).toMatchObject({ forgotten: parquet.slice(0, 3).flat().sort(), segmentsDropped: 3 });
    const after = await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM messages');
    expect(after).toMatchObject({ rows: [[counts[3]]] });
    // Their splits are on disk and no longer in the catalog: the answer says it leaves them out until indexed.
    expect(after.warnings).toEqual([
      expect.stringMatching(/^3 recorded split\(s\) with \d+ message\(s\) are waiting to be indexed/),
    ]);
    expect(await count(dataDir, 'SELECT count(*) FROM bags')).toBe(1);
    // The splits are still on disk: with their rows gone, the lakehouse's start indexes them again.
    const lh = testLakehouse(dataDir, registry, { retention: { ...RETENTION_DEFAULTS, enabled: false } });
    await lh.start();
    await lh.idle();
    await lh.close();
    expect(await count(dataDir, 'SELECT count(*) FROM messages')).toBe(320);
    expect(existsSync(files[0]!)).toBe(true);
  });

  it('every listed file missing (a tables directory on a disk not mounted) is left in the catalog, and said so', async () => {
    const { dataDir } = await indexedSplits('unmounted');
    const tables = lakehousePaths(dataDir).tables;
    rmSync(tables, { recursive: true });
    mkdirSync(tables);
    const pass = await retention(dataDir);
    expect(pass.forgotten).toMatchObject({
      forgotten: [],
      skipped: expect.stringMatching(
        /none of the 8 parquet files the catalog lists is in .*tables: left as it is \(is the disk holding it mounted\?\)/,
      ),
    });
    expect(await count(dataDir, 'SELECT count(*) FROM bags')).toBe(4);
  });

  it('a recorded split deleted by hand: retention deletes its parquet in its turn (oldest first), which would otherwise stay for good', async () => {
    const { dataDir, files, parquet } = await indexedSplits('bag-by-hand');
    rmSync(files[0]!);
    const total = (await retention(dataDir)).totalBytes;
    const pass = await retention(dataDir, { settings: { ...RETENTION_DEFAULTS, max_bytes: total - 1 } });
    expect(pass.deleted.map((d) => d.file)).toEqual([files[0]]);
    expect(parquet[0]!.map(existsSync)).toEqual([false, false]);
    expect(existsSync(files[1]!)).toBe(true);
    expect(await count(dataDir, 'SELECT count(*) FROM bags')).toBe(3);
  });

  it('a move into tables/ that fails half-way (a full disk, EIO) takes back what it moved: nothing is left there unlisted', async () => {
    const root = join(work.path, 'half-moved');
    const staging = join(root, 'staging');
    const tables = join(root, 'tables');
    const rel = ['a/robot=r1/date=2024-01-01/part-1.parquet', 'b/robot=r1/date=2024-01-01/part-2.parquet'];
    for (const f of rel) {
      mkdirSync(join(staging, f, '..'), { recursive: true });
      writeFileSync(join(staging, f), 'x');
    }
    mkdirSync(tables);
    writeFileSync(join(tables, 'b'), 'in the way'); // the second file's directory can't be made
    await expect(commitStaged(staging, tables, rel)).rejects.toThrow(/ENOTDIR|EEXIST/);
    expect(existsSync(join(tables, rel[0]!))).toBe(false);
  });
});

describe('lerobot export while retention deletes', () => {
  it('reads the lakehouse again when a file it was about to read is deleted, instead of failing', async () => {
    const { dataDir, counts } = await indexedSplits('export-race');
    const catalog = lakehousePaths(dataDir).catalog;
    const [last] = await withCatalog(catalog, async (c) =>
      (await c.runAndReadAll('SELECT start_ns, end_ns FROM bags ORDER BY seq DESC LIMIT 1')).getRows(),
    );
    const total = (await retention(dataDir)).totalBytes;
    let deleted = 0;
    const report = await exportLakehouseToLeRobot({
      database: catalog,
      out: join(work.path, 'export-race-out'),
      fps: 1000,
      features: [{ key: 'observation.state', relation: 'messages', columns: ['size'] }],
      episodes: [{ startNs: last![0] as bigint, endNs: (last![1] as bigint) + 1n, task: 'newest split' }],
      viewsDefined: async () => {
        if (deleted === 0)
          deleted = (await retention(dataDir, { settings: { ...RETENTION_DEFAULTS, max_bytes: total - 1 } })).deleted
            .length;
      },
    });
    expect(deleted).toBe(1);
    expect(report.features[0]!.samples).toBe(counts[3]);
    expect(report.warnings).toEqual([]);
  });
});

describe('a damaged catalog', () => {
  it("query and the lakehouse's health say to move it aside; once moved, the lakehouse indexes the recorded bags again", async () => {
    const { dataDir } = await indexedSplits('damaged-catalog');
    const catalog = lakehousePaths(dataDir).catalog;
    writeFileSync(catalog, Buffer.alloc(300_000, 0x5a)); // overwritten
    const advice = `The catalog is damaged: move it aside (mv ${catalog} ${catalog}.damaged); the daemon then starts a new one and indexes the recorded bags under <data_dir>/bags again`;
    await expect(queryLakehouse(dataDir, 'SELECT count(*) FROM messages')).rejects.toThrow(advice);
    const lh = testLakehouse(dataDir, registry, { retention: { ...RETENTION_DEFAULTS, enabled: false } });
    await lh.start();
    await lh.idle();
    expect(lh.health()).toMatchObject({ state: 'degraded', reason: expect.stringContaining(advice) });
    await lh.close();
    renameSync(catalog, `${catalog}.damaged`);
    const again = testLakehouse(dataDir, registry, { retention: { ...RETENTION_DEFAULTS, enabled: false } });
    await again.start();
    await again.idle();
    await again.close();
    expect(await count(dataDir, 'SELECT count(*) FROM messages')).toBe(320);
    expect((await queryLakehouse(dataDir, 'SELECT 1')).warnings).toBeUndefined();
  });
});
