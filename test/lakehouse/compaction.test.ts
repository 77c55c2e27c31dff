import { cpSync, existsSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { compactLakehouse, CompactionError } from '../../daemon/lakehouse/compaction.ts';
import { indexEvents } from '../../daemon/lakehouse/events-indexer.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { listParquet } from '../../daemon/lakehouse/parquet-files.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { ageCatalog, eventFlushes, recordedSegments } from '../helpers/lakehouse-segments.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { RETENTION_DEFAULTS, testLakehouse } from '../helpers/test-lakehouse.ts';

// Compaction merges the small parquet files of old segments (and of events flushes): queries must answer
// exactly as before, retention must delete a merged group whole, and nothing may be indexed twice.

const registry = new DefinitionsRegistry();
const work = tempDir('compaction-');
afterAll(() => work.cleanup());
const MAX = 256 * 1024 * 1024;

/**
 * 13 splits, each indexed on its own (26 parquet files), and 7 events flushes (7 files): the template each test copies.
 */
let template = '';
let splits: { files: string[]; ids: string[] } = { files: [], ids: [] };
let journal: MemoryJournal;
beforeAll(async () => {
  template = join(work.path, 'template');
  splits = await recordedSegments(template, registry, 13);
  journal = new MemoryJournal();
  await eventFlushes(template, journal, 7);
}, 30_000);

/**
 * A copy of the template, its catalog's paths (recorded splits, events files) moved with it; returns it and its splits.
 */
async function dataDirCopy(name: string): Promise<{ dataDir: string; files: string[] }> {
  const dataDir = join(work.path, name);
  cpSync(template, dataDir, { recursive: true });
  await withCatalog(lakehousePaths(dataDir).catalog, async (c) => {
    await c.run(`UPDATE bags SET path = replace(path, '${template}/', '${dataDir}/')`);
    await c.run(`UPDATE event_files SET path = replace(path, '${template}/', '${dataDir}/')`);
  });
  return { dataDir, files: splits.files.map((f) => f.replace(`${template}/`, `${dataDir}/`)) };
}

/**
 * What queries answer about the rows: per segment its rows, sums and distinct values; the events' seqs; the segments.
 */
async function snapshot(dataDir: string) {
  const sql = `SELECT
    (SELECT list([segment_id, n, t, o] ORDER BY segment_id) FROM (SELECT segment_id, count(*)::VARCHAR n, sum(log_time)::VARCHAR t, sum("offset")::VARCHAR o FROM messages GROUP BY ALL)),
    (SELECT list([segment_id, n, t, d] ORDER BY segment_id) FROM (SELECT segment_id, count(*)::VARCHAR n, sum(log_time)::VARCHAR t, count(DISTINCT data)::VARCHAR d FROM "/chatter" GROUP BY ALL)),
    (SELECT list([seq::VARCHAR, event_id] ORDER BY seq) FROM events),
    (SELECT list([segment_id, message_count::VARCHAR] ORDER BY seq) FROM bags)`;
  const [messages, chatter, events, bags] = (await queryLakehouse(dataDir, sql)).rows[0] as string[][][];
  return { messages: messages ?? [], chatter: chatter ?? [], events: events ?? [], bags: bags ?? [] };
}

/** The parquet files the views of a query read (each path once per view that reads it). */
async function filesRead(dataDir: string, sql: string): Promise<string[]> {
  let read: readonly string[] = [];
  await queryLakehouse(dataDir, sql, { viewsDefined: (files) => void (read = [...files]) });
  return [...read];
}

const listed = async (dataDir: string) =>
  withCatalog(lakehousePaths(dataDir).catalog, async (c) => {
    const bags = (await c.runAndReadAll('SELECT DISTINCT unnest(parquet_files) FROM bags'))
      .getRows()
      .map((r) => String(r[0]));
    const events = (
      await c.runAndReadAll("SELECT path FROM event_files WHERE deleted_at IS NULL AND starts_with(path, '/')")
    )
      .getRows()
      .map((r) => String(r[0]));
    return [...bags.map((f) => join(lakehousePaths(dataDir).tables, f)), ...events].sort();
  });

describe('compaction', () => {
  it('merges the files of old segments and events flushes per table and partition; every query answers as before, reading each file once', async () => {
    const { dataDir } = await dataDirCopy('merge');
    const tables = lakehousePaths(dataDir).tables;
    const before = await snapshot(dataDir);
    expect(before.bags.length).toBe(13);
    expect(before.events.length).toBe(21);
    expect(listParquet(tables).length).toBe(33);

    // Nothing is old enough yet.
    expect(await compactLakehouse({ dataDir, afterS: 3600, maxBytes: MAX })).toMatchObject({
      merged: [],
      filesBefore: 33,
      filesAfter: 33,
      pending: 0,
    });
    // All but the newest split are: 12 splits at level 0 make two groups of 6 (a unit of level 1 each); the
    // 7 events files, one group of 6 and the newest left for later.
    await ageCatalog(dataDir, 7200, `segment_id <> '${splits.ids[12]}'`);
    // Made while a query has its views over the old files: the query runs again over the new ones.
    let report: Awaited<ReturnType<typeof compactLakehouse>> | undefined;
    const runs: number[] = [];
    const during = await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER, sum(log_time)::VARCHAR FROM messages', {
      viewsDefined: async (files) => {
        runs.push(files.length);
        report ??= await compactLakehouse({ dataDir, afterS: 3600, maxBytes: MAX });
      },
    });
    expect(runs).toEqual([13, 3]);
    expect(during.rows).toEqual([
      [
        before.messages.reduce((n, m) => n + Number(m[1]), 0),
        String(before.messages.reduce((n, m) => n + BigInt(m[2]!), 0n)),
      ],
    ]);
    if (!report) throw new Error('no compaction');
    expect(report.merged.map((m) => [m.table, m.members, m.inputFiles, m.outputFiles])).toEqual([
      ['segments', 6, 12, 2],
      ['segments', 6, 12, 2],
      ['events', 6, 6, 1],
    ]);
    expect(report).toMatchObject({ filesBefore: 33, filesAfter: 33 - 30 + 5, pending: 0, changed: [] });
    expect(listParquet(tables).length).toBe(8);
    expect((await listed(dataDir)).length).toBe(8);

    expect(await snapshot(dataDir)).toEqual(before);
    // A merged file is listed by each of its segments: the views still read it once.
    for (const sql of [
      'SELECT count(*) FROM messages',
      'SELECT count(*) FROM "/chatter"',
      'SELECT count(*) FROM events',
    ]) {
      const read = await filesRead(dataDir, sql);
      expect(new Set(read).size, sql).toBe(read.length);
    }
    expect((await filesRead(dataDir, 'SELECT count(*) FROM messages')).length).toBe(3);
    // Each segment lists the merged files that hold its rows; the newest still its own.
    const rows = await withCatalog(lakehousePaths(dataDir).catalog, async (c) =>
      (await c.runAndReadAll('SELECT segment_id, parquet_files FROM bags ORDER BY seq')).getRowsJson(),
    );
    expect(new Set(rows.slice(0, 6).map((r) => JSON.stringify(r[1]))).size).toBe(1);
    expect(new Set(rows.slice(6, 12).map((r) => JSON.stringify(r[1]))).size).toBe(1);
    expect(rows[0]![1]).not.toEqual(rows[6]![1]);

    // Events are never indexed twice: the merged file's row carries the last seq of the flushes it holds.
    expect(await indexEvents({ journal, dataDir, robot: 'r1' })).toEqual({ rows: 0, lastSeq: 21 });
    const ev = await withCatalog(lakehousePaths(dataDir).catalog, async (c) =>
      (
        await c.runAndReadAll(
          "SELECT first_seq::INTEGER, last_seq::INTEGER, rows::INTEGER, flushes::INTEGER FROM event_files WHERE starts_with(path, '/') ORDER BY seq",
        )
      ).getRows(),
    );
    expect(ev).toEqual([
      [1, 18, 18, 6],
      [19, 21, 3, null],
    ]);

    // Run again: nothing more to merge (the groups are of level 1 now, one of each is too few).
    expect(await compactLakehouse({ dataDir, afterS: 3600, maxBytes: MAX })).toMatchObject({
      merged: [],
      filesBefore: 8,
      filesAfter: 8,
    });
  });

  it('retention deletes a merged group whole, with all its splits, and the files no remaining segment lists; shared bytes count once', async () => {
    const { dataDir, files } = await dataDirCopy('retention');
    await compactLakehouse({ dataDir, afterS: 0, maxBytes: MAX });
    const settings = { max_bytes: 0, max_age_hours: 0, allow_unsynced_delete: false };
    const measured = await applyRetention({ dataDir, settings, syncRequired: false });
    const onDisk = [
      ...files,
      ...listParquet(lakehousePaths(dataDir).tables).map((f) => join(lakehousePaths(dataDir).tables, f)),
    ].reduce((n, f) => n + statSync(f).size, 0);
    expect(measured.totalBytes).toBe(onDisk);

    // One byte over: the oldest segment goes, and with it its whole group (6 splits and their merged files).
    const r = await applyRetention({
      dataDir,
      settings: { ...settings, max_bytes: measured.totalBytes - 1 },
      syncRequired: false,
    });
    expect(r.deleted.map((d) => d.file)).toEqual(files.slice(0, 6));
    expect(files.map((f) => existsSync(f))).toEqual([...Array(6).fill(false), ...Array(7).fill(true)]);
    const after = await snapshot(dataDir);
    expect(after.bags.map((b) => b[0])).toEqual(splits.ids.slice(6));
    // No row of a deleted segment is left in the tables, and every remaining one is.
    expect(after.messages.map((m) => m[0]).sort()).toEqual(splits.ids.slice(6).sort());
    expect(after.chatter.map((m) => m[0]).sort()).toEqual(splits.ids.slice(6).sort());
    expect(r.totalBytes).toBe(measured.totalBytes - r.deleted.reduce((n, d) => n + d.bytes, 0));
    const still = await listed(dataDir);
    expect(still.every((f) => existsSync(f))).toBe(true);
    expect(listParquet(lakehousePaths(dataDir).tables).length).toBe(still.length);
  });

  it('leaves out synced segments, and a merge the catalog changed under is given up with nothing changed', async () => {
    const { dataDir } = await dataDirCopy('synced');
    await withCatalog(lakehousePaths(dataDir).catalog, (c) =>
      c.run(`UPDATE bags SET sync_state = 'synced' WHERE segment_id = '${splits.ids[3]}'`).then(() => undefined),
    );
    const r = await compactLakehouse({ dataDir, afterS: 0, maxBytes: MAX, maxMerges: 0 });
    // Splits 0-2 are too few to merge; 4-12 make one group of 6 (4-9), the rest wait.
    expect(r.pending).toBe(2); // the 4-9 group and the events
    const before = await listed(dataDir);
    // Retention deletes a member while the merge is staged: its rows and the group's plan no longer match.
    const changed = await compactLakehouse({
      dataDir,
      afterS: 0,
      maxBytes: MAX,
      maxMerges: 1,
      hooks: {
        staged: () =>
          withCatalog(lakehousePaths(dataDir).catalog, (c) =>
            c
              .run(`UPDATE bags SET parquet_files = parquet_files[1:1] WHERE segment_id = '${splits.ids[4]}'`)
              .then(() => undefined),
          ),
      },
    });
    expect(changed.merged).toEqual([]);
    expect(changed.changed).toEqual([`segments ${splits.ids[4]}+6`]);
    expect((await listed(dataDir)).length).toBe(before.length - 1); // (the file the update dropped)
    expect(listParquet(lakehousePaths(dataDir).tables).length).toBe(before.length);
    expect(existsSync(lakehousePaths(dataDir).staging) ? listParquet(lakehousePaths(dataDir).staging) : []).toEqual([]);
  });

  it('stops at once when asked (the lakehouse stopping): what was not committed is left as it was', async () => {
    const { dataDir } = await dataDirCopy('stop');
    const before = await listed(dataDir);
    const abort = new AbortController();
    const r = await compactLakehouse({
      dataDir,
      afterS: 0,
      maxBytes: MAX,
      signal: abort.signal,
      hooks: { staged: () => abort.abort() },
    });
    expect(r).toMatchObject({ merged: [], stoppedBy: 'stopped', pending: 3 });
    expect(await listed(dataDir)).toEqual(before);
    expect(listParquet(lakehousePaths(dataDir).tables).length).toBe(before.length);
    expect(existsSync(lakehousePaths(dataDir).staging) ? listParquet(lakehousePaths(dataDir).staging) : []).toEqual([]);
    // The component: a lakehouse stopped right after it started makes no merge, however much is due.
    await ageCatalog(dataDir, 7200);
    const lh = testLakehouse(dataDir, registry, { retention: { ...RETENTION_DEFAULTS, enabled: false } });
    await lh.start();
    await lh.close();
    expect(lh.health().details).toMatchObject({ compactions: 0 });
    expect(await listed(dataDir)).toEqual(before);
  });

  it('a merge that fails leaves everything as it was; the lakehouse shows it in health, carries on with the rest, and counts merges in /metrics', async () => {
    const { dataDir } = await dataDirCopy('fails');
    const before = await listed(dataDir);
    const snap = await snapshot(dataDir);
    // A failure once the merged files are moved in (the catalog write fails): they are taken back.
    const failing = compactLakehouse({
      dataDir,
      afterS: 0,
      maxBytes: MAX,
      hooks: { moved: () => Promise.reject(new Error('disk gone')) },
    });
    await expect(failing).rejects.toThrow(CompactionError);
    await expect(failing).rejects.toThrow(/^compacting segments \S+\+6 failed, nothing was changed: disk gone$/);
    expect(await listed(dataDir)).toEqual(before);
    expect(listParquet(lakehousePaths(dataDir).tables).length).toBe(before.length);
    expect(await snapshot(dataDir)).toEqual(snap);

    // A damaged file in the first group: that merge fails and health says so.
    const [[firstFiles]] = await withCatalog(
      lakehousePaths(dataDir).catalog,
      async (c) =>
        (
          await c.runAndReadAll(`SELECT parquet_files FROM bags WHERE segment_id = '${splits.ids[0]}'`)
        ).getRowsJson() as [[string[]]],
    );
    const damaged = join(
      lakehousePaths(dataDir).tables,
      firstFiles.find((f) => f.startsWith('topic_chatter/'))!,
    );
    truncateSync(damaged, 20);
    await ageCatalog(dataDir, 7200);
    const options = { retention: { ...RETENTION_DEFAULTS, enabled: false } };
    const metric = (lh: ReturnType<typeof testLakehouse>, name: string) =>
      lh.metrics().find((m) => m.name === name)!.samples[0]?.value;
    const first = testLakehouse(dataDir, registry, options);
    await first.start();
    await first.idle();
    await first.close();
    expect(first.health()).toMatchObject({
      state: 'degraded',
      reason: expect.stringMatching(
        /compact: compacting segments \S+\+6 failed, nothing was changed: .*part-.*\.parquet/,
      ),
    });
    expect(metric(first, 'auraison_lakehouse_compactions_total')).toBe(0);
    expect(await listed(dataDir)).toEqual(before);

    // The next runs leave the failed merge out and make the others; a run that succeeds clears health.
    const next = testLakehouse(dataDir, registry, { ...options, compactEveryMs: 20 });
    await next.start();
    await waitFor(() => metric(next, 'auraison_lakehouse_compactions_total') === 2, 'the other two merges');
    await next.close();
    expect(next.health().state).toBe('running');
    expect(next.health().details).toMatchObject({
      parquet_files_at_last_compaction: 33 - 12 - 6 + 2 + 1,
      compactions: 2,
    });
    expect(metric(next, 'auraison_lakehouse_compacted_files_total')).toBe(18);
    expect(metric(next, 'auraison_lakehouse_parquet_files')).toBe(18);
    expect(existsSync(damaged)).toBe(true);
    expect(await listed(dataDir)).toEqual(expect.arrayContaining(before.filter((f) => f === damaged)));
  });
});

describe('auraison-edge lakehouse compact', () => {
  it('merges what is due now, or everything finished with --all, and says what it did', async () => {
    const { dataDir } = await dataDirCopy('cli');
    const config = join(work.path, 'cli.yaml');
    writeFileSync(config, `data_dir: ${dataDir}\n`);
    const none = await runMain(['lakehouse', 'compact', '--config', config, '--json']);
    expect(none.code, none.stderr).toBe(0);
    expect(JSON.parse(none.stdout)).toMatchObject({ merged: [], files_before: 33, files_after: 33 });
    const all = await runMain(['lakehouse', 'compact', '--all', '--config', config]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^merged 3 groups: 30 parquet files into 5 \(33 files listed before, 8 now\)/);
  });
});
