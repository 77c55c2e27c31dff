import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { compactLakehouse } from '../../daemon/lakehouse/compaction.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { listSyncFiles, updateSyncFile } from '../../daemon/lakehouse/sync-files.ts';
import { registerSyncFiles } from '../../daemon/lakehouse/sync-register.ts';
import { tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { ageCatalog, eventFlushes, recordedSegments } from '../helpers/lakehouse-segments.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { RETENTION_DEFAULTS } from '../helpers/test-lakehouse.ts';

const registry = new DefinitionsRegistry();
const ALL = { kinds: ['bag', 'table', 'events'] as const, topics: [], tags: [] };

async function segmentStates(dataDir: string): Promise<Map<string, string>> {
  return withCatalog(lakehousePaths(dataDir).catalog, async (conn) => {
    const rows = (await conn.runAndReadAll('SELECT segment_id, sync_state FROM bags')).getRows();
    return new Map(rows.map((r) => [String(r[0]), String(r[1])]));
  });
}

describe('the sync catalog', () => {
  const cleanups = cleanupStack();

  it('records each split, parquet and events file awaiting sync with its sha256, and marks a segment synced once all its files are stored', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const { files, ids } = await recordedSegments(dir.path, registry, 3);
    const journal = new MemoryJournal();
    await eventFlushes(dir.path, journal, 2);
    expect(await registerSyncFiles(dir.path, { ...ALL, kinds: [...ALL.kinds] })).toBeGreaterThan(5);
    expect(await registerSyncFiles(dir.path, { ...ALL, kinds: [...ALL.kinds] })).toBe(0); // nothing twice
    const rows = await listSyncFiles(dir.path);
    expect(rows.filter((r) => r.kind === 'bag').map((r) => join(dir.path, r.path))).toEqual(files);
    expect(rows.filter((r) => r.kind === 'events')).toHaveLength(2);
    for (const r of rows) {
      expect(r.state).toBe('awaiting');
      const hash = createHash('sha256')
        .update(readFileSync(join(dir.path, r.path)))
        .digest('hex');
      expect(r.sha256).toBe(hash);
      expect(r.fileId).toBe(`${r.kind}:${hash}`);
    }
    const first = rows.filter((r) => r.segmentId === ids[0]);
    for (const r of first.slice(0, -1)) await updateSyncFile(dir.path, r.path, { state: 'stored' });
    expect((await segmentStates(dir.path)).get(ids[0]!)).toBe('syncing');
    await updateSyncFile(dir.path, first.at(-1)!.path, { state: 'not_wanted' });
    const states = await segmentStates(dir.path);
    expect(states.get(ids[0]!)).toBe('synced');
    expect(states.get(ids[1]!)).toBe('pending');
  });

  it('offers only the bags the topics filter chooses; the others are not wanted at once', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    await recordedSegments(dir.path, registry, 2);
    await registerSyncFiles(dir.path, { kinds: ['bag'], topics: ['/other'], tags: [] });
    const rows = await listSyncFiles(dir.path);
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.state))).toEqual(new Set(['not_wanted']));
    const chosen = tempDir();
    cleanups.push(chosen.cleanup);
    await recordedSegments(chosen.path, registry, 1);
    await registerSyncFiles(chosen.path, { kinds: ['bag'], topics: ['/chatter'], tags: [] });
    const bag = (await listSyncFiles(chosen.path)).filter((r) => r.kind === 'bag');
    expect(bag.map((r) => r.state)).toEqual(['awaiting']);
  });

  it('retention deletes synced segments first, and an unsynced one only over max_bytes, as lost to be reported', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const { files, ids } = await recordedSegments(dir.path, registry, 4);
    await registerSyncFiles(dir.path, { ...ALL, kinds: [...ALL.kinds] });
    // The newest segment is synced: it goes first, before the older unsynced ones.
    for (const r of (await listSyncFiles(dir.path)).filter((f) => f.segmentId === ids[3]))
      await updateSyncFile(dir.path, r.path, { state: 'stored' });
    const settings = { ...RETENTION_DEFAULTS, max_bytes: 0, max_age_hours: 1 };
    // Too old, all of it: without allow_unsynced_delete only the synced segment goes.
    const old = await applyRetention({
      dataDir: dir.path,
      settings,
      syncRequired: true,
      now: Date.now() + 2 * 3600_000,
    });
    expect(old.deleted.map((d) => d.file)).toEqual([files[3]]);
    expect(old.lost).toBeUndefined();
    expect(files.slice(0, 3).every((f) => existsSync(f))).toBe(true);
    // Over max_bytes: the oldest unsynced goes, and its files are lost, not reported yet.
    const total = old.totalBytes;
    const sized = await applyRetention({
      dataDir: dir.path,
      settings: { ...settings, max_age_hours: 0, max_bytes: total - 1 },
      syncRequired: true,
    });
    expect(sized.deleted.map((d) => d.file)).toEqual([files[0]]);
    const lost = (await listSyncFiles(dir.path)).filter((r) => r.state === 'lost');
    expect(lost.map((r) => r.kind).sort()).toEqual(['bag', 'table', 'table']);
    expect(lost.every((r) => !r.reported && /max_bytes/.test(r.lastError ?? ''))).toBe(true);
    // The synced segment's rows went with its files.
    expect((await listSyncFiles(dir.path)).some((r) => r.segmentId === ids[3])).toBe(false);
  });

  it('compaction leaves a segment whose upload began alone, and merges the others: their rows superseded, the merged file awaiting', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    // Six neighbours merge into one (compaction's fanout): eight splits, the first of them uploading.
    const { ids } = await recordedSegments(dir.path, registry, 8);
    await registerSyncFiles(dir.path, { ...ALL, kinds: [...ALL.kinds] });
    const uploading = (await listSyncFiles(dir.path)).find((r) => r.segmentId === ids[0] && r.kind === 'table')!;
    await updateSyncFile(dir.path, uploading.path, { state: 'uploading', uploadId: 'u1' });
    expect((await segmentStates(dir.path)).get(ids[0]!)).toBe('syncing');
    await ageCatalog(dir.path, 7200);
    const report = await compactLakehouse({ dataDir: dir.path, afterS: 3600, maxBytes: 1024 ** 3 });
    expect(report.merged.length).toBeGreaterThan(0);
    expect(existsSync(join(dir.path, uploading.path))).toBe(true); // not merged under its upload
    await registerSyncFiles(dir.path, { ...ALL, kinds: [...ALL.kinds] });
    const rows = await listSyncFiles(dir.path);
    const tables = rows.filter((r) => r.kind === 'table');
    const superseded = tables.filter((r) => r.state === 'superseded');
    expect(superseded.length).toBeGreaterThan(0);
    expect(superseded.every((r) => r.segmentId !== ids[0] && !existsSync(join(dir.path, r.path)))).toBe(true);
    const merged = tables.filter((r) => r.state === 'awaiting' && existsSync(join(dir.path, r.path)));
    expect(merged.some((r) => r.seq > Math.max(...superseded.map((x) => x.seq)))).toBe(true);
  });
});
