import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import { parseConfigText } from '../../daemon/config/load.ts';
import { indexEvents } from '../../daemon/lakehouse/events-indexer.ts';
import { Lakehouse } from '../../daemon/lakehouse/lakehouse.ts';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { applyRetention, syncRequired } from '../../daemon/lakehouse/retention.ts';
import { tempDir } from '../helpers/cli.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';

const registry = new DefinitionsRegistry();
const work = tempDir('retention-');
afterAll(() => work.cleanup());

/** Records 4 splits of about 20 KB into a small data dir and indexes each, oldest first by an hour each. */
async function smallDataDir(name: string) {
  const dataDir = join(work.path, name);
  const { bag, files } = await recordSmallBag(dataDir, registry);
  const ids: string[] = [];
  const now = Date.now();
  for (const [i, file] of files.entries()) {
    const report = await importBag({ path: bag, only: [file], dataDir, robot: 'r1', registry, source: 'recorder' });
    ids.push(report.segments[0]!.segmentId);
    const t = (now - (files.length - i) * 3600_000) / 1000;
    utimesSync(file, t, t);
  }
  return { dataDir, bag, files, ids };
}

async function markSynced(dataDir: string, ids: string[]): Promise<void> {
  await withCatalog(lakehousePaths(dataDir).catalog, (c) =>
    c
      .run(`UPDATE bags SET sync_state = 'synced' WHERE segment_id IN (${ids.map((i) => `'${i}'`).join(',')})`)
      .then(() => undefined),
  );
}

describe('retention on a small data dir', () => {
  it('with central sync on: deletes synced data first, unsynced data only over max_bytes (as lost) or, when allowed, for age', async () => {
    const { dataDir, bag, files, ids } = await smallDataDir('size');
    expect(files.length).toBe(4);
    await markSynced(dataDir, [ids[2]!]);
    const total = (
      await applyRetention({
        dataDir,
        settings: { max_bytes: 0, max_age_hours: 0, allow_unsynced_delete: false },
        syncRequired: true,
      })
    ).totalBytes;
    const first = await applyRetention({
      dataDir,
      settings: { max_bytes: total - 1, max_age_hours: 0, allow_unsynced_delete: false },
      syncRequired: true,
    });
    // The synced split goes first, though three older ones are there: central has it.
    expect(first.deleted.map((d) => d.file)).toEqual([files[2]]);
    expect(first.lost).toBeUndefined();
    expect(first.blocked).toBeUndefined();
    const meta = parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'm');
    expect(meta.files.map((f) => join(bag, f.path))).toEqual([files[0], files[1], files[3]]);
    const left = await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM bags');
    expect(left.rows[0]![0]).toBe(3);
    const rows = await queryLakehouse(dataDir, 'SELECT count(DISTINCT segment_id)::INTEGER FROM messages');
    expect(rows.rows[0]![0]).toBe(3); // its parquet went with it

    // Too old (1 to 4 hours), but not synced: it waits for central, unless allow_unsynced_delete.
    const aged = { max_bytes: 0, max_age_hours: 0.5 };
    const waits = await applyRetention({
      dataDir,
      settings: { ...aged, allow_unsynced_delete: false },
      syncRequired: true,
    });
    expect(waits.deleted).toEqual([]);
    const allowed = await applyRetention({
      dataDir,
      settings: { ...aged, allow_unsynced_delete: true },
      syncRequired: true,
      keep: [files[3]!],
    });
    expect(allowed.deleted.map((d) => [d.file, d.why])).toEqual([
      [files[0], 'age'],
      [files[1], 'age'],
    ]);
    expect(allowed.lost?.filter((l) => l.kind === 'bag').map((l) => l.file)).toEqual([files[0], files[1]]);

    // Over max_bytes with nothing synced left: the recorder never stops for lack of upload, so it goes, as lost.
    const last = await applyRetention({
      dataDir,
      settings: { max_bytes: 1, max_age_hours: 0, allow_unsynced_delete: false },
      syncRequired: true,
    });
    expect(last.deleted.map((d) => [d.file, d.why])).toEqual([[files[3], 'size']]);
    expect(last.lost?.map((l) => l.kind).sort()).toEqual(['bag', 'table', 'table']);
  });

  it('deletes data older than max_age_hours, oldest first, and removes a bag once it has no split', async () => {
    const { dataDir, bag, files } = await smallDataDir('age');
    const r = await applyRetention({
      dataDir,
      settings: { max_bytes: 0, max_age_hours: 2.5, allow_unsynced_delete: true },
      syncRequired: false,
    });
    expect(r.deleted.map((d) => [d.file, d.why])).toEqual([
      [files[0], 'age'],
      [files[1], 'age'],
    ]);
    await applyRetention({
      dataDir,
      settings: { max_bytes: 0, max_age_hours: 0.0001, allow_unsynced_delete: true },
      syncRequired: false,
    });
    expect(existsSync(bag)).toBe(false);
    expect(readdirSync(join(dataDir, 'bags'))).toEqual([]);
  });

  it('with the default config (no central link) deletes the oldest data to keep max_bytes: nothing waits for a sync that cannot happen', async () => {
    const { dataDir, bag, files } = await smallDataDir('default');
    const config = parseConfigText(`data_dir: ${dataDir}\nretention:\n  max_bytes: 1\n`, 'edge.yaml');
    expect(config.retention.allow_unsynced_delete).toBe(false);
    expect(syncRequired(config)).toBe(false);
    const lakehouse = new Lakehouse({
      dataDir,
      robot: 'r1',
      definitions: registry,
      log: pino({ level: 'silent' }),
      journal: undefined,
      settings: config.lakehouse,
      retention: config.retention,
      syncRequired: syncRequired(config),
    });
    await lakehouse.start(); // runs retention once at start
    await lakehouse.idle();
    await lakehouse.close();
    expect(files.some((f) => existsSync(f))).toBe(false);
    expect(existsSync(bag)).toBe(false);
    expect(lakehouse.health()).toMatchObject({ state: 'running' });
    const left = await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM bags');
    expect(left.rows[0]![0]).toBe(0);
  });

  it('deletes events parquet files like bags (oldest first, same sync rule) and never re-indexes their events', async () => {
    const dataDir = join(work.path, 'events');
    const journal = new MemoryJournal();
    const add = (n: number) => {
      for (let i = 0; i < n; i++) {
        const seq = journal.lastSeq + 1;
        journal.records.push({
          seq,
          ts: '1700000000000000000',
          kind: 'agent_event',
          data: {
            event_id: `e${seq}`,
            run_id: 'run-1',
            kind: 'tool.called',
            payload: { seq },
            ts: '1700000000000000000',
          },
        });
      }
    };
    const eventFiles = async () =>
      (
        await withCatalog(lakehousePaths(dataDir).catalog, async (c) =>
          (
            await c.runAndReadAll('SELECT path, deleted_at IS NOT NULL FROM event_files ORDER BY first_seq')
          ).getRowsJson(),
        )
      ).map((r) => ({ path: String(r[0]), deleted: r[1] === true }));
    add(3);
    await indexEvents({ journal, dataDir, robot: 'r1' });
    add(2);
    await indexEvents({ journal, dataDir, robot: 'r1' });
    const [older, newer] = await eventFiles();
    expect(existsSync(older!.path) && existsSync(newer!.path)).toBe(true);
    const hour = (Date.now() - 3600_000) / 1000;
    utimesSync(older!.path, hour - 3600, hour - 3600);
    utimesSync(newer!.path, hour, hour);

    const kept = await applyRetention({
      dataDir,
      settings: { max_bytes: 0, max_age_hours: 1.5, allow_unsynced_delete: false },
      syncRequired: true,
    });
    expect(kept.deleted).toEqual([]); // too old, but central has not got it

    const r = await applyRetention({
      dataDir,
      settings: { max_bytes: 0, max_age_hours: 1.5, allow_unsynced_delete: false },
      syncRequired: false,
    });
    expect(r.deleted.map((d) => [d.file, d.why])).toEqual([[older!.path, 'age']]);
    expect(existsSync(older!.path)).toBe(false);
    expect((await eventFiles()).map((f) => f.deleted)).toEqual([true, false]);
    const q = await queryLakehouse(dataDir, 'SELECT seq::INTEGER FROM events ORDER BY seq');
    expect(q.rows.map((row) => row[0])).toEqual([4, 5]);
    // The deleted file's row still says how far the journal was indexed: nothing comes back twice.
    expect(await indexEvents({ journal, dataDir, robot: 'r1' })).toEqual({ rows: 0, lastSeq: 5 });

    const all = await applyRetention({
      dataDir,
      settings: { max_bytes: 1, max_age_hours: 0, allow_unsynced_delete: false },
      syncRequired: false,
    });
    expect(all.deleted.map((d) => d.file)).toEqual([newer!.path]);
    expect(all.totalBytes).toBe(0);
  });

  it('removes partition directories an earlier pass left empty, once untouched for a minute, and never a table directory or one with files', async () => {
    const { dataDir } = await smallDataDir('sweep');
    const tables = lakehousePaths(dataDir).tables;
    const table = join(tables, 'messages');
    const stale = join(table, 'robot=gone', 'date=2024-01-01');
    const fresh = join(table, 'robot=gone', 'date=2024-01-02');
    mkdirSync(stale, { recursive: true });
    mkdirSync(fresh, { recursive: true });
    const anHourAgo = (Date.now() - 3600_000) / 1000;
    utimesSync(stale, anHourAgo, anHourAgo);
    const withFiles = readdirSync(table).filter((d) => d !== 'robot=gone');
    const settings = { max_bytes: 0, max_age_hours: 0, allow_unsynced_delete: false };

    const first = await applyRetention({ dataDir, settings, syncRequired: false });
    expect(first.emptyDirsRemoved).toBe(1);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true); // just made: a writer may be about to put a file in it
    // Two minutes on (by the pass's clock), the fresh one and its robot= parent, empty now, go too.
    const later = await applyRetention({ dataDir, settings, syncRequired: false, now: Date.now() + 120_000 });
    expect(later.emptyDirsRemoved).toBe(2);
    expect(existsSync(join(table, 'robot=gone'))).toBe(false);
    expect(existsSync(table)).toBe(true);
    expect(readdirSync(table)).toEqual(withFiles); // partitions holding files are untouched
    const rows = await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM messages');
    expect(rows.rows[0]![0]).toBeGreaterThan(0);
  });
});
