import { rmSync } from 'node:fs';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { LakehouseConfig, RetentionConfig } from '../../daemon/config/sections/bags.ts';
import { Lakehouse, type LakehouseOptions } from '../../daemon/lakehouse/lakehouse.ts';
import { tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';

// A component's stop is bounded. After a large `bag repair` the lakehouse had a split to index for every
// split of the bag queued, and its stop waited for all of them: SIGTERM left it running past the daemon's
// 5 s. It now finishes the job in progress and leaves the queue to its next start, saying so.

const registry = new DefinitionsRegistry({ distro: 'jazzy' });
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function lakehouse(dataDir: string, lines: { msg: string; jobs?: number; level?: number }[]) {
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
  );
  return new Lakehouse({
    dataDir,
    robot: 'r1',
    definitions: registry,
    log,
    journal: undefined,
    settings: Value.Default(LakehouseConfig, {}) as LakehouseOptions['settings'],
    retention: { ...(Value.Default(RetentionConfig, {}) as LakehouseOptions['retention']), enabled: false },
    syncRequired: false,
  });
}

describe('the lakehouse stopping with many splits queued to index', () => {
  it('runs only the job in progress, says how many it left, and its next start indexes them', async () => {
    const dir = tempDir('lh-stop-');
    dirs.push(dir.path);
    const { bag, files } = await recordSmallBag(dir.path, registry, 1600);
    expect(files.length).toBeGreaterThanOrEqual(15);

    const lines: { msg: string; jobs?: number; level?: number }[] = [];
    const first = lakehouse(dir.path, lines);
    await first.start();
    for (const file of files) first.indexRecordedSplit(file, bag);
    await first.close();
    const states = await Promise.all(files.map((f) => first.splitIndexing(f)));
    const indexed = states.filter((s) => s.state === 'indexed').length;
    expect(indexed).toBeLessThan(files.length / 2);
    const left = lines.find((l) => l.msg.includes('job(s) interrupted or not run; the next start does them'));
    expect(left?.jobs).toBeGreaterThanOrEqual(files.length - indexed);
    expect(left?.level).toBe(40); // a warning: work queued before the stop was dropped

    // The next start's scan finds what was left.
    const next = lakehouse(dir.path, []);
    await next.start();
    // (Its start job queues an index job per split it finds: asked until those have run.)
    let states2 = files.map(() => 'pending');
    for (let i = 0; i < 50 && !states2.every((s) => s === 'indexed'); i++) {
      states2 = await Promise.all(files.map(async (f) => (await next.splitIndexing(f)).state));
    }
    expect(states2).toEqual(files.map(() => 'indexed'));
    await next.close();
  });

  it('indexes the split the recorder closed as it stopped, so a query after a Ctrl-C leaves nothing out', async () => {
    const dir = tempDir('lh-last-split-');
    dirs.push(dir.path);
    const lines: { msg: string; jobs?: number; level?: number }[] = [];
    const stopping = lakehouse(dir.path, lines);
    await stopping.start();
    await stopping.idle(); // its start's catalog work done: the stop's split is the only job
    const { bag, files } = await recordSmallBag(dir.path, registry, 80);
    const last = files.at(-1)!;
    // As the daemon's stop has it: the recorder closes its split (byStop), then the lakehouse closes.
    stopping.indexRecordedSplit(last, bag, true);
    await stopping.close();
    expect(await stopping.splitIndexing(last)).toEqual({ state: 'indexed' });
    expect(lines.filter((l) => l.msg.includes('indexed at the next start'))).toEqual([]);
  });
});
