import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import type { LakehouseOptions } from '../../daemon/lakehouse/lakehouse.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { commitStaged } from '../../daemon/lakehouse/parquet-files.ts';
import { RECORDING_MARKER } from '../../daemon/recorder/recorder.ts';
import { tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { RETENTION_DEFAULTS, testLakehouse } from '../helpers/test-lakehouse.ts';
import { tick } from '../helpers/wait.ts';

const registry = new DefinitionsRegistry();
const work = tempDir('lakehouse-recovery-');
afterAll(() => work.cleanup());

function lakehouse(dataDir: string, extra: Partial<LakehouseOptions> = {}) {
  return testLakehouse(dataDir, registry, { retention: { ...RETENTION_DEFAULTS, enabled: false }, ...extra });
}

const count = async (dataDir: string, sql: string) => Number((await queryLakehouse(dataDir, sql)).rows[0]![0]);
const catalogPaths = async (dataDir: string) =>
  withCatalog(lakehousePaths(dataDir).catalog, async (c) =>
    (await c.runAndReadAll('SELECT path FROM bags ORDER BY path')).getRows().map((r) => String(r[0])),
  );

/** A pid no process has: a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('a damaged or unlisted parquet file costs only its own rows', () => {
  it('queries read the files the catalog lists: a torn, empty or stray file never fails a query of another table, and a listed one that is damaged is named', async () => {
    const dataDir = join(work.path, 'damaged');
    const { bag, files } = await recordSmallBag(dataDir, registry);
    for (const file of files)
      await importBag({ path: bag, only: [file], dataDir, robot: 'r1', registry, source: 'recorder' });
    const tables = lakehousePaths(dataDir).tables;
    const partition = join(tables, 'messages', readdirSync(join(tables, 'messages'))[0]!);
    const day = join(partition, readdirSync(partition)[0]!);
    // What a power cut or a killed writer can leave: a 0-byte file and random bytes, neither in the catalog.
    writeFileSync(join(day, 'part-empty.parquet'), '');
    writeFileSync(join(day, 'part-damaged.parquet'), Buffer.alloc(5000, 7));
    expect(await count(dataDir, 'SELECT count(*) FROM bags')).toBe(4);
    expect(await count(dataDir, 'SELECT count(*) FROM messages')).toBe(320);
    expect(await count(dataDir, 'SELECT count(*) FROM "/chatter"')).toBe(320);

    // A committed file of /chatter's table is torn: that table loses its rows, with a warning naming the
    // file; every other table answers as before.
    const chatter = (
      await withCatalog(lakehousePaths(dataDir).catalog, async (c) =>
        (
          await c.runAndReadAll('SELECT unnest(parquet_files) AS f FROM bags WHERE path = ' + `'${files[0]}'`)
        ).getRows(),
      )
    )
      .map((r) => String(r[0]))
      .find((f) => f.startsWith('topic_chatter/'))!;
    truncateSync(join(tables, chatter), 100);
    const bags = await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM bags');
    expect(bags.rows[0]![0]).toBe(4);
    expect(bags.warnings).toBeUndefined(); // a query of bags reads no parquet file
    const torn = await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM "/chatter"');
    expect(torn.warnings).toEqual([expect.stringContaining(`${join(tables, chatter)}: `)]);
    expect(torn.warnings![0]).toMatch(/its rows are left out of "\/chatter"/);
    expect(await count(dataDir, 'SELECT count(*) FROM messages')).toBe(320);
    const lost = await count(dataDir, `SELECT message_count FROM bags WHERE path = '${files[0]}'`);
    expect(await count(dataDir, 'SELECT count(*) FROM "/chatter"')).toBe(320 - lost);
  });

  it('fsyncs each parquet file before it is moved in, and each directory it lands in, off the event loop and before it returns', async () => {
    const root = join(work.path, 'fsync');
    const staging = join(root, 'staging');
    const tablesDir = join(root, 'tables');
    const rel = ['t/robot=r1/date=2024-01-01/part-a.parquet', 't/robot=r1/date=2024-01-02/part-b.parquet'];
    for (const f of rel) {
      mkdirSync(join(staging, f, '..'), { recursive: true });
      writeFileSync(join(staging, f), 'x');
    }
    mkdirSync(join(tablesDir, 't'), { recursive: true });
    // Each fsync is a promise that the test settles: nothing may be renamed, and nothing returned, before
    // the fsyncs it depends on have settled.
    const pending: { path: string; done: () => void }[] = [];
    const synced: string[] = [];
    const committing = commitStaged(staging, tablesDir, rel, (p) => {
      expect(existsSync(p)).toBe(true);
      return new Promise<void>((resolve) => pending.push({ path: p, done: () => (synced.push(p), resolve()) }));
    });
    let returned = false;
    void committing.then(() => (returned = true));
    const settleAll = async () => {
      await vi.waitFor(() => expect(pending.length).toBeGreaterThan(0), { timeout: 20_000 });
      const batch = pending.splice(0);
      expect(returned).toBe(false);
      return batch;
    };
    const files = await settleAll();
    expect(files.map((f) => f.path)).toEqual(rel.map((f) => join(staging, f)));
    // not moved before its fsync
    expect(rel.every((f) => existsSync(join(staging, f)) && !existsSync(join(tablesDir, f)))).toBe(true);
    for (const f of files) f.done();
    const dirs = await settleAll();
    expect(new Set(dirs.map((d) => d.path))).toEqual(
      new Set([
        join(tablesDir, 't'),
        join(tablesDir, 't/robot=r1'),
        join(tablesDir, 't/robot=r1/date=2024-01-01'),
        join(tablesDir, 't/robot=r1/date=2024-01-02'),
      ]),
    );
    for (const d of dirs) d.done();
    expect(await committing).toEqual(rel.map((f) => join(tablesDir, f)));
    expect(synced.length).toBe(6);
  });
});

describe('recorded splits are indexed even when their first indexing fails', () => {
  it('retries a split whose indexing failed, with backoff, and keeps the failure in health until it is indexed', async () => {
    const dataDir = join(work.path, 'retry');
    const { bag, files } = await recordSmallBag(dataDir, registry, 60); // one split
    expect(files.length).toBe(1);
    let clock = 0;
    // The lakehouse's ticks and retention passes run when the test advances its intervals, not on their own:
    // idle() waits for a queue that stays empty, which a pass longer than its period (a loaded machine)
    // never leaves.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      // As if the recorder were still writing the split: the start scan leaves it to the recorder's hand-over.
      const retention = { ...RETENTION_DEFAULTS, check_interval_s: 0.05 };
      const recording = () => ({ files: [files[0]!], bags: [], closing: [] });
      const lh = lakehouse(dataDir, { tickMs: 10, now: () => clock, recording, retention });
      await lh.start();
      await lh.idle();
      expect(lh.health().details?.segments_indexed).toBe(0); // the start scan left it to the recorder
      // The disk refuses the staging directory (as a full disk would).
      const staging = lakehousePaths(dataDir).staging;
      rmSync(staging, { recursive: true, force: true });
      writeFileSync(staging, 'not a directory');
      lh.indexRecordedSplit(files[0]!, bag);
      await lh.idle();
      const failing = /^indexing failed for 1 recorded split\(s\), first .*_0\.mcap: .*; retrying in 5 s$/;
      expect(lh.health()).toMatchObject({ state: 'degraded', reason: expect.stringMatching(failing) });
      // Retention passes succeed meanwhile, and ticks before the retry is due queue nothing: the failure
      // stays in health, alone, and no retry runs before its time.
      vi.advanceTimersByTime(100); // two retention passes' intervals, ten ticks
      await lh.idle();
      expect(lh.health()).toMatchObject({ state: 'degraded', reason: expect.stringMatching(failing) });
      expect(lh.metrics().find((m) => m.name === 'auraison_lakehouse_splits_failed')!.samples[0]!.value).toBe(1);
      expect(lh.metrics().find((m) => m.name === 'auraison_lakehouse_index_failures_total')!.samples[0]!.value).toBe(1);
      rmSync(staging);
      clock = 5000; // the backoff has passed
      vi.advanceTimersByTime(10); // the next tick queues the retry
      await lh.idle();
      expect(lh.health().details?.segments_indexed).toBe(1);
      await lh.close();
      expect(lh.health().state).toBe('running');
    } finally {
      vi.useRealTimers();
    }
    expect(await catalogPaths(dataDir)).toEqual(files);
  });

  it('idle() returns only once the index jobs the start scan queued have run, not when the scan itself ends', async () => {
    const dataDir = join(work.path, 'idle');
    const { files } = await recordSmallBag(dataDir, registry);
    const lh = lakehouse(dataDir);
    await lh.start();
    await lh.idle();
    expect(lh.health().details?.segments_indexed).toBe(files.length);
    await lh.close();
  });

  it('at start indexes finished recorded splits the catalog lacks, never an open split, and leaves bags still marked .recording to the recorder', async () => {
    const dataDir = join(work.path, 'scan');
    const { bag, files } = await recordSmallBag(dataDir, registry);
    await importBag({ path: bag, only: [files[0]!], dataDir, robot: 'r1', registry, source: 'recorder' });
    // A second bag left by a crash: the recorder repairs it at its start and hands its splits over then.
    const crashed = join(dataDir, 'bags', 'crashed');
    mkdirSync(crashed);
    for (const f of readdirSync(bag))
      writeFileSync(join(crashed, f.replace(/^[^_]+_[^_]+_[^_]+_[^_]+_/, 'crashed_')), '');
    writeFileSync(join(crashed, RECORDING_MARKER), '1\n');
    // as if files[3] were still being written
    const lh = lakehouse(dataDir, { recording: () => ({ files: [files[3]!], bags: [], closing: [] }) });
    await lh.start();
    await lh.idle();
    await lh.close();
    expect(await catalogPaths(dataDir)).toEqual(files.slice(0, 3));
    expect(lh.health().state).toBe('running');
  });
});

describe("a failed split's retry", () => {
  it('is queued once when due, not again by every tick while it runs: each attempt counts once', async () => {
    const dataDir = join(work.path, 'retry-once');
    let clock = 0;
    // The ticks run when the test advances them: one at each turn of the event loop while the retry runs.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const lh = lakehouse(dataDir, { tickMs: 1, now: () => clock, retryMs: { first: 1000, max: 1000 } });
      await lh.start();
      await lh.idle();
      // after the start scan: only the hand-over below indexes it
      const { bag, files } = await recordSmallBag(dataDir, registry, 60);
      const staging = lakehousePaths(dataDir).staging;
      rmSync(staging, { recursive: true, force: true });
      writeFileSync(staging, 'not a directory'); // every attempt fails
      const failures = () =>
        lh.metrics().find((m) => m.name === 'auraison_lakehouse_index_failures_total')!.samples[0]!.value;
      lh.indexRecordedSplit(files[0]!, bag);
      await lh.idle();
      expect(failures()).toBe(1);
      clock = 1000; // due now, and stays due by the clock while the retry runs
      while (failures() < 2) {
        vi.advanceTimersByTime(1);
        await tick();
      }
      await lh.idle();
      expect(failures()).toBe(2);
      await lh.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('what a writer killed mid-import leaves behind', () => {
  it('the lakehouse sweeps staging dirs of dead writers at start, and a bag import does too; live writers are left alone', async () => {
    const dataDir = join(work.path, 'staging');
    const staging = lakehousePaths(dataDir).staging;
    const dead = join(staging, `${deadPid()}-0190aaaa`);
    const legacy = join(staging, '0190bbbb-cccc'); // named before staging dirs carried a pid
    const live = join(staging, `${process.pid}-0190dddd`);
    for (const d of [dead, legacy, live]) {
      mkdirSync(join(d, 'messages'), { recursive: true });
      writeFileSync(join(d, 'messages', 'part-x.parquet'), 'x');
    }
    const lh = lakehouse(dataDir);
    await lh.start();
    await lh.close();
    expect([existsSync(dead), existsSync(legacy), existsSync(live)]).toEqual([false, false, true]);

    const again = join(staging, `${deadPid()}-0190eeee`);
    mkdirSync(again);
    const { bag } = await recordSmallBag(join(work.path, 'staging-src'), registry, 10);
    await importBag({ path: bag, dataDir, robot: 'r1', registry });
    expect(existsSync(again)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('deletes parquet in tables/ that no catalog row lists (killed between moving files in and committing), at lakehouse start', async () => {
    const dataDir = join(work.path, 'orphans');
    const { bag } = await recordSmallBag(join(work.path, 'orphans-src'), registry, 10);
    await importBag({ path: bag, dataDir, robot: 'r1', registry });
    const dir = join(lakehousePaths(dataDir).tables, 'messages', 'robot=r1', 'date=2024-01-01');
    mkdirSync(dir, { recursive: true });
    const orphan = join(dir, 'part-orphan.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(
      `COPY (SELECT 'x' AS segment_id, 'b' AS bag, '/chatter' AS topic, 't' AS type, 1::BIGINT AS log_time) TO '${orphan}' (FORMAT parquet)`,
    );
    conn.closeSync();
    db.closeSync();
    expect(await count(dataDir, 'SELECT count(*) FROM messages')).toBe(10); // invisible to queries already
    const lh = lakehouse(dataDir);
    await lh.start();
    await lh.idle();
    await lh.close();
    expect(existsSync(orphan)).toBe(false);
    expect(await count(dataDir, 'SELECT count(*) FROM messages')).toBe(10);
  });
});
