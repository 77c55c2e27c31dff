import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { listParquet } from '../../daemon/lakehouse/parquet-files.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { bundleChild } from '../helpers/fast-child.ts';
import { eventFlushes, recordedSegments } from '../helpers/lakehouse-segments.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { RETENTION_DEFAULTS, testLakehouse } from '../helpers/test-lakehouse.ts';

// A compaction killed (kill -9, a power cut) at any step leaves the old files listed or the merged ones,
// never both nor neither: once the lakehouse has started again (its sweeps: staging of dead processes,
// parquet no row lists), the tables hold exactly the files the catalog lists, and every query answers as before.

const registry = new DefinitionsRegistry();
const work = tempDir('compaction-crash-');
let child: Awaited<ReturnType<typeof bundleChild>>;
let template = '';
beforeAll(async () => {
  child = await bundleChild(join(ROOT, 'test/lakehouse/compaction-crash-child.ts'));
  template = join(work.path, 'template');
  await recordedSegments(template, registry, 7); // one merge of 6 splits, one split left
  await eventFlushes(template, new MemoryJournal(), 6); // one merge of 6 files
}, 30_000);
afterAll(() => {
  child?.cleanup();
  work.cleanup();
});

const STEPS = ['staged', 'moved', 'committed'] as const;

/** What the catalog lists (paths under tables/), and the rows every table answers with, per segment. */
async function state(dataDir: string) {
  const { catalog, tables } = lakehousePaths(dataDir);
  const listed = await withCatalog(catalog, async (c) => [
    ...(await c.runAndReadAll('SELECT DISTINCT unnest(parquet_files) FROM bags')).getRows().map((r) => String(r[0])),
    ...(await c.runAndReadAll("SELECT path FROM event_files WHERE deleted_at IS NULL AND starts_with(path, '/')"))
      .getRows()
      .map((r) => relative(tables, String(r[0]))),
  ]);
  const sql = `SELECT (SELECT list([segment_id, n] ORDER BY segment_id) FROM (SELECT segment_id, count(*)::VARCHAR n FROM messages GROUP BY ALL)),
    (SELECT list([segment_id, n] ORDER BY segment_id) FROM (SELECT segment_id, count(*)::VARCHAR n FROM "/chatter" GROUP BY ALL)),
    (SELECT list(seq::VARCHAR ORDER BY seq) FROM events)`;
  const q = await queryLakehouse(dataDir, sql);
  return { listed: listed.sort(), rows: q.rows, warnings: q.warnings };
}

/** Runs the child on `dataDir`, which kills itself after `step` of the first `merge` merge. */
function compactAndDie(dataDir: string, step: string, merge: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, child.args(dataDir, step, merge), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`the child was not killed at ${step} of ${merge}:\n${out}`)),
    );
  });
}

describe('a compaction killed at each step', () => {
  it(
    'leaves the old files or the merged ones, never both nor neither; the lakehouse start clears what is left over',
    { timeout: 60_000 },
    async () => {
      const original = await state(template);
      expect(original.listed.length).toBe(7 * 2 + 6);
      const cases = STEPS.flatMap((step) =>
        ['segments', 'events'].map((merge) => ({ step, merge, dataDir: join(work.path, `${merge}-${step}`) })),
      );
      for (const c of cases) cpSync(template, c.dataDir, { recursive: true });
      // (the catalog lists events files and recorded splits by absolute path: each copy points at its own)
      for (const c of cases) {
        await withCatalog(lakehousePaths(c.dataDir).catalog, async (conn) => {
          await conn.run(`UPDATE event_files SET path = replace(path, '${template}/', '${c.dataDir}/')`);
          await conn.run(`UPDATE bags SET path = replace(path, '${template}/', '${c.dataDir}/')`);
        });
      }
      await Promise.all(cases.map((c) => compactAndDie(c.dataDir, c.step, c.merge)));
      for (const { step, merge, dataDir } of cases) {
        const what = `killed after ${step} (${merge})`;
        const { tables, staging } = lakehousePaths(dataDir);
        const before = await state(dataDir);
        // Right after the kill: what the catalog lists is all on disk, and queries answer as before.
        expect(
          before.listed.every((f) => existsSync(join(tables, f))),
          what,
        ).toBe(true);
        expect(before.rows, what).toEqual(original.rows);
        expect(before.warnings, what).toBeUndefined();
        // The merge killed lists its old files or its merged ones (the segments' merge comes first: once
        // it committed, the events' is made).
        const mine = original.listed.filter((f) => f.startsWith('events/') === (merge === 'events'));
        const kept = mine.filter((f) => before.listed.includes(f));
        const inputs = merge === 'segments' ? 12 : 6;
        const outputs = merge === 'segments' ? 2 : 1;
        expect(kept.length, what).toBe(step === 'committed' ? mine.length - inputs : mine.length);
        const done = (merge === 'events' ? 10 : 0) + (step === 'committed' ? inputs - outputs : 0);
        expect(before.listed.length, what).toBe(original.listed.length - done);

        const lh = testLakehouse(dataDir, registry, { retention: { ...RETENTION_DEFAULTS, enabled: false } });
        await lh.start();
        await lh.idle();
        await lh.close();
        const after = await state(dataDir);
        expect(after.listed, what).toEqual(before.listed);
        // Nothing unlisted is left: the merged files of a merge not committed, the old ones of a merge that was.
        expect(listParquet(tables).sort(), what).toEqual(after.listed);
        expect(existsSync(staging) ? readdirSync(staging) : [], what).toEqual([]);
        expect(after.rows, what).toEqual(original.rows);
      }
    },
  );
});
