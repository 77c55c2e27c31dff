import { copyFileSync, existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { freeSpaceTarget, type DiskSpace } from '../../daemon/lakehouse/disk-space.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { RETENTION_DEFAULTS, testLakehouse } from '../helpers/test-lakehouse.ts';

const registry = new DefinitionsRegistry();
const work = tempDir('retention-space-');
afterAll(() => work.cleanup());
const DEFAULTS = RETENTION_DEFAULTS;

/** A recorded bag of 4 splits, each indexed as the lakehouse does when the recorder closes it, in order. */
async function indexedBag(name: string) {
  const dataDir = join(work.path, name);
  const { bag, files } = await recordSmallBag(dataDir, registry);
  for (const file of files)
    await importBag({ path: bag, only: [file], dataDir, robot: 'r1', registry, source: 'recorder' });
  return { dataDir, bag, files };
}

function du(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    n += e.isDirectory() ? du(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
}

/** A file system of `size` bytes holding the data dir and `other()` bytes of someone else's. */
function smallDisk(dataDir: string, size: number, other: () => number) {
  return async (): Promise<DiskSpace> => ({ size, free: size - other() - du(dataDir) });
}

const at = (ms: number) => ms / 1000;

describe('retention keeps free space for the recorder', () => {
  it('on a disk smaller than max_bytes, deletes the oldest data while free space is below min_free_bytes plus a margin', async () => {
    const { dataDir, files } = await indexedBag('small-disk');
    const used = du(dataDir);
    const size = 10_000_000;
    const minFree = 100_000;
    const target = freeSpaceTarget(minFree, size);
    // Another program leaves just less free than the target: one split's worth has to go.
    const other = size - used - target + 1000;
    const r = await applyRetention({
      dataDir,
      settings: DEFAULTS,
      syncRequired: false,
      minFreeBytes: minFree,
      diskSpace: smallDisk(dataDir, size, () => other),
    });
    expect(DEFAULTS.max_bytes).toBeGreaterThan(size); // the size limit alone never fires here
    expect(r.deleted.map((d) => [d.file, d.why])).toEqual([[files[0], 'free_space']]);
    expect(r.freeSpace!.free).toBeGreaterThanOrEqual(target);
    expect(r.lowSpace).toMatch(
      /deleted the 1 oldest file\(s\) to keep \d+ bytes free \(recorder.min_free_bytes 100000 plus a margin\)/,
    );
    expect(files.slice(1).every((f) => existsSync(f))).toBe(true);

    // Without a recorder (no minFreeBytes) free space is not retention's business.
    const none = await applyRetention({
      dataDir,
      settings: DEFAULTS,
      syncRequired: false,
      diskSpace: smallDisk(dataDir, size, () => size),
    });
    expect(none.deleted).toEqual([]);

    // Nothing of ours can make enough room: all goes but the split being recorded, and health-worthy words say why.
    const full = await applyRetention({
      dataDir,
      settings: DEFAULTS,
      syncRequired: false,
      keep: [files[3]!],
      minFreeBytes: minFree,
      diskSpace: smallDisk(dataDir, size, () => size),
    });
    expect(full.deleted.map((d) => d.file)).toEqual([files[1], files[2]]);
    expect(existsSync(files[3]!)).toBe(true);
    expect(full.lowSpace).toMatch(/nothing retention may delete is left: free space outside the data dir/);
  });

  it('the lakehouse runs retention as soon as free space runs low, not at the next check_interval_s, and says so in health and metrics', async () => {
    const { dataDir, files } = await indexedBag('component');
    const size = 10_000_000;
    const minFree = 100_000;
    let other = 0;
    const lh = testLakehouse(dataDir, registry, {
      retention: { ...DEFAULTS, check_interval_s: 86_400 },
      minFreeBytes: minFree,
      diskSpace: smallDisk(dataDir, size, () => other),
      tickMs: 10,
    });
    await lh.start();
    await lh.idle();
    expect(files.every((f) => existsSync(f))).toBe(true);
    expect(lh.health().state).toBe('running');
    other = size - du(dataDir) - freeSpaceTarget(minFree, size) + 1000; // the disk fills from outside
    await vi.waitFor(() => expect(existsSync(files[0]!)).toBe(false), { timeout: 20_000, interval: 20 });
    await lh.idle();
    await lh.close();
    expect(files.slice(1).every((f) => existsSync(f))).toBe(true);
    expect(lh.health()).toMatchObject({
      state: 'degraded',
      reason: expect.stringMatching(/retention: deleted the 1 oldest file\(s\) to keep \d+ bytes free/),
    });
    const metric = (name: string) => lh.metrics().find((m) => m.name === name)!.samples[0]!.value;
    expect(metric('auraison_retention_low_free_space')).toBe(1);
    expect(metric('auraison_retention_free_space_deleted_total')).toBe(1);
  });

  it('counts what bag repair left (.orig, .orig.N, a dead .repairing) and deletes it before any split', async () => {
    const { dataDir, files } = await indexedBag('leftovers');
    const orig = `${files[2]}.orig`;
    const orig1 = `${files[2]}.orig.1`;
    const repairing = `${files[3]}.repairing`;
    copyFileSync(files[2]!, orig);
    copyFileSync(files[2]!, orig1);
    writeFileSync(repairing, Buffer.alloc(5000));
    const settings = { ...DEFAULTS, max_bytes: 0 };
    const measured = await applyRetention({ dataDir, settings, syncRequired: false });
    const leftovers = [orig, orig1, repairing].reduce((n, f) => n + statSync(f).size, 0);
    const splits = files.reduce((n, f) => n + statSync(f).size, 0);
    expect(measured.totalBytes).toBe(du(join(dataDir, 'lakehouse', 'tables')) + splits + leftovers);

    // Over the limit by a little more than one backup: both backups go, not the oldest split. The
    // .repairing file is new to this pass (a repair may be writing it), so it stays.
    const over = { ...DEFAULTS, max_bytes: measured.totalBytes - statSync(orig).size - 1 };
    const first = await applyRetention({ dataDir, settings: over, syncRequired: false });
    expect(first.deleted.map((d) => d.file)).toEqual([orig, orig1]);
    expect(existsSync(repairing)).toBe(true);
    // Unchanged since the last pass: a dead repair's copy, deleted before any split.
    const second = await applyRetention({
      dataDir,
      settings: { ...DEFAULTS, max_bytes: first.totalBytes - 1 },
      syncRequired: false,
      repairing: first.repairing,
    });
    expect(second.deleted.map((d) => d.file)).toEqual([repairing]);
    expect(files.every((f) => existsSync(f))).toBe(true);
  });
});

describe('retention orders by commit, not by the wall clock', () => {
  it('deletes the split indexed first although the clock stepped back between splits (later splits look older)', async () => {
    const { dataDir, files } = await indexedBag('stepped-back');
    const now = Date.now();
    // Written an hour ago, then the clock stepped back five hours: later splits carry earlier mtimes.
    files.forEach((f, i) =>
      utimesSync(f, at(now - 3600_000 - i * 5 * 3600_000), at(now - 3600_000 - i * 5 * 3600_000)),
    );
    const total = (await applyRetention({ dataDir, settings: { ...DEFAULTS, max_bytes: 0 }, syncRequired: false }))
      .totalBytes;
    const r = await applyRetention({
      dataDir,
      settings: { ...DEFAULTS, max_bytes: total - 1 },
      syncRequired: false,
      now,
    });
    expect(r.deleted.map((d) => d.file)).toEqual([files[0]]);
  });

  it('never ages out data by an mtime before 2020 (a clock never set), nor with the clock itself before 2020', async () => {
    const { dataDir, files } = await indexedBag('unset-clock');
    const now = Date.now();
    for (const f of files) utimesSync(f, at(Date.UTC(2000, 0, 1, 0, 10)), at(Date.UTC(2000, 0, 1, 0, 10)));
    const settings = { ...DEFAULTS, max_bytes: 0, max_age_hours: 720 };
    const r = await applyRetention({ dataDir, settings, syncRequired: false, now });
    expect(r.deleted).toEqual([]);
    for (const f of files) utimesSync(f, at(now - 1000 * 3600_000), at(now - 1000 * 3600_000));
    const unset = await applyRetention({ dataDir, settings, syncRequired: false, now: Date.UTC(2000, 0, 1, 0, 20) });
    expect(unset.deleted).toEqual([]);
    expect(unset.clock).toMatch(/before 2020: retention.max_age_hours is not applied/);
    expect(files.every((f) => existsSync(f))).toBe(true);
  });

  it('ages out data written while the clock read the future once data committed after it is too old', async () => {
    const { dataDir, files } = await indexedBag('future');
    const now = Date.now();
    utimesSync(files[0]!, at(Date.UTC(2040, 0, 1)), at(Date.UTC(2040, 0, 1))); // a GPS glitch while it was written
    for (const f of files.slice(1, 3)) utimesSync(f, at(now - 5 * 3600_000), at(now - 5 * 3600_000));
    utimesSync(files[3]!, at(now - 60_000), at(now - 60_000));
    const r = await applyRetention({
      dataDir,
      settings: { ...DEFAULTS, max_bytes: 0, max_age_hours: 1 },
      syncRequired: false,
      now,
    });
    expect(r.deleted.map((d) => [d.file, d.why])).toEqual([
      [files[0], 'age'],
      [files[1], 'age'],
      [files[2], 'age'],
    ]);
    expect(existsSync(files[3]!)).toBe(true);
  });
});
