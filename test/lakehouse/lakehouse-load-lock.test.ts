import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { bundleChild } from '../helpers/fast-child.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { RETENTION_DEFAULTS, testLakehouse } from '../helpers/test-lakehouse.ts';
import { waitFor } from '../helpers/wait.ts';
import { errorText } from '../../daemon/util/index.ts';

// A user's DuckDB shell or script on catalog.duckdb beside the running daemon: DuckDB lets a process write a
// database file only while no other process has it open, read-only included.

const registry = new DefinitionsRegistry();
const work = tempDir('lakehouse-load-lock-');
// The other process is started four times: compiled once, it starts without tsx's loader.
let child: Awaited<ReturnType<typeof bundleChild>>;
beforeAll(async () => {
  child = await bundleChild(join(ROOT, 'test/lakehouse/lakehouse-load-catalog-child.ts'));
});
afterAll(() => {
  child?.cleanup();
  work.cleanup();
});
const children: ChildProcess[] = [];
afterEach(() => children.splice(0).forEach((c) => c.kill('SIGKILL')));

/** Another process holding the catalog open (as `duckdb catalog.duckdb` does), until release() ends its stdin. */
async function holdCatalog(
  catalog: string,
  mode: 'hold-rw' | 'hold-ro',
): Promise<{ pid: number; release: () => Promise<void> }> {
  const holder = spawn(process.execPath, child.args(mode, catalog), { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(holder);
  let out = '';
  holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('holding') || holder.exitCode !== null, 'the other process to open the catalog');
  expect(out).toContain('holding');
  return {
    pid: holder.pid!,
    release: async () => {
      holder.stdin!.end();
      await waitFor(() => holder.exitCode !== null, 'the other process to let the catalog go');
    },
  };
}

/** One catalog write from another process, as the daemon makes one while `auraison-edge query` runs. */
function writeFromAnotherProcess(catalog: string, waitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const writer = spawn(process.execPath, child.args('write', catalog, String(waitMs)), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(writer);
    let out = '';
    writer.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    writer.once('error', reject);
    writer.once('exit', () => resolve(out.trim()));
  });
}

const count = async (dataDir: string, sql: string) => Number((await queryLakehouse(dataDir, sql)).rows[0]![0]);

describe('another process holding the lakehouse catalog', () => {
  it('the lakehouse starts anyway, health names the process and what to do, and the splits recorded meanwhile are indexed once it lets go', async () => {
    const dataDir = join(work.path, 'start');
    const { bag, files } = await recordSmallBag(dataDir, registry);
    const catalog = lakehousePaths(dataDir).catalog;
    await withCatalog(catalog, async () => undefined); // the catalog of an earlier run
    const holder = await holdCatalog(catalog, 'hold-ro'); // read-only is enough to keep writers out
    let clock = 0; // the backoff's clock, stepped by hand
    const lh = testLakehouse(dataDir, registry, {
      catalogWaitMs: 200,
      tickMs: 10,
      now: () => clock,
      retryMs: { first: 5000, max: 60_000 },
      retention: { ...RETENTION_DEFAULTS, check_interval_s: 0.1 },
    });
    const failures = () =>
      lh.metrics().find((m) => m.name === 'auraison_lakehouse_index_failures_total')!.samples[0]!.value;
    try {
      await lh.start(); // resolves: the catalog is not waited for (it used to fail the start after 10 s)
      await waitFor(
        () => /start: the lakehouse catalog .* is locked by process \d+/.test(lh.health().reason ?? ''),
        'health to say the catalog is locked',
      );
      const reason = lh.health().reason!;
      expect(reason).toContain(`locked by process ${holder.pid} (`);
      expect(reason).toMatch(
        /close it\. To read the lakehouse beside the daemon use `auraison-edge query`, or open a copy of the file/,
      );
      // Splits the recorder closes meanwhile wait for the lock, and until its backoff has passed none of them
      // tries the catalog: a job each would wait out the lock (10 s by default) with the rest queued behind it.
      for (const f of files) lh.indexRecordedSplit(f, bag);
      await waitFor(() => lh.health().details?.splits_failed === files.length, 'the splits to wait for the lock');
      await lh.idle();
      expect(failures()).toBe(0);
      expect(lh.health().details?.segments_indexed).toBe(0);
      await holder.release();
      clock = 60_000; // the backoff has passed: the next job finds the catalog free, and every waiting split is due
      await waitFor(
        () => lh.health().details?.segments_indexed === files.length && lh.health().state === 'running',
        'the splits to be indexed once the catalog is free',
      );
      await lh.idle();
      expect(await count(dataDir, 'SELECT count(*) FROM "/chatter"')).toBe(320);
    } finally {
      await lh.close();
    }
  });

  it('query waits for a writer, then says which process holds the catalog and what to do; a read-only holder does not stop it', async () => {
    const dataDir = join(work.path, 'query');
    const { bag } = await recordSmallBag(dataDir, registry, 60);
    await importBag({ path: bag, dataDir, robot: 'r1', registry });
    const catalog = lakehousePaths(dataDir).catalog;
    const reader = await holdCatalog(catalog, 'hold-ro');
    expect(await count(dataDir, 'SELECT count(*) FROM messages')).toBe(60);
    await reader.release();
    const writer = await holdCatalog(catalog, 'hold-rw');
    const error = await queryLakehouse(dataDir, 'SELECT count(*) FROM messages', { catalogWaitMs: 200 }).catch(
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(errorText(error)).toContain(`the lakehouse catalog ${catalog} is locked by process ${writer.pid} (`);
    expect(errorText(error)).toMatch(
      /nothing was read\. .*close it\. To read the lakehouse beside the daemon use `auraison-edge query`/,
    );
    await writer.release();
    expect(await count(dataDir, 'SELECT count(*) FROM messages')).toBe(60);
  });

  it('a query holds the catalog only while it reads the file list, not while its statement runs: the daemon writes meanwhile', async () => {
    const dataDir = join(work.path, 'running');
    const { bag } = await recordSmallBag(dataDir, registry, 60);
    await importBag({ path: bag, dataDir, robot: 'r1', registry });
    const catalog = lakehousePaths(dataDir).catalog;
    let wrote = '';
    // The statement is held from running until another process has tried to write the catalog; as a
    // query of minutes would hold it, the lock would fail that write (after its 10 s, the daemon's wait).
    const result = await queryLakehouse(dataDir, 'SELECT count(*) FROM messages', {
      viewsDefined: async () => {
        wrote = await writeFromAnotherProcess(catalog, 1500);
      },
    });
    expect(wrote).toBe('wrote');
    expect(Number(result.rows[0]![0])).toBe(60);
    expect((await queryLakehouse(dataDir, 'SELECT count(*)::INTEGER FROM bags')).rows[0]![0]).toBe(1);
  });
});
