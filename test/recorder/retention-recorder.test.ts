import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseMetadata, RETENTION_DELETED_KEY } from '../../daemon/bags/metadata.ts';
import { freeSpaceTarget, type DiskSpace } from '../../daemon/lakehouse/disk-space.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { recorderFixture } from '../../daemon/recorder/recorder-fixture.ts';
import { fsSegmentIO, type SegmentIO } from '../../daemon/recorder/segment-io.ts';
import { tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { RETENTION_DEFAULTS, testLakehouse } from '../helpers/test-lakehouse.ts';

const { registry, codec, setup } = recorderFixture();
const work = tempDir('retention-recorder-');
const SMALL = { compression: 'none' as const, chunk_size_bytes: 2048, split_max_bytes: 2000, min_free_bytes: 0 };
const EVERYTHING = { max_bytes: 1, max_age_hours: 0, allow_unsynced_delete: true };
const metadataOf = (bag: string) => parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
const splitsIn = (bag: string) =>
  readdirSync(bag)
    .filter((f) => f.endsWith('.mcap'))
    .sort();
/** For vi.waitFor: its default (1 s) is too short for disk I/O on a loaded CI machine. */
const WAIT = { timeout: 20_000, interval: 10 };

/** fsSegmentIO, but while `gate.dir` is set, metadata.yaml writes under it wait for `gate.release()`. */
function gatedIO() {
  const gate = { dir: '', held: false, release: () => {} };
  const io: SegmentIO = {
    ...fsSegmentIO,
    async writeAtomic(path, text) {
      if (gate.dir && path.startsWith(gate.dir + '/')) {
        gate.held = true;
        await new Promise<void>((resolve) => (gate.release = resolve));
      }
      return fsSegmentIO.writeAtomic(path, text);
    },
  };
  return { gate, io };
}

describe('retention and the recorder meet in the bag being recorded', () => {
  it("retention deletes a live bag's finished splits but leaves its metadata.yaml to the recorder, which drops them and keeps the note", async () => {
    const { dir, bus, recorder, closed } = setup(SMALL);
    const pub = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) pub.publish(codec.encode('std_msgs/msg/String', { data: `${i} `.padEnd(200, '.') }));
      await vi.waitFor(() => expect(recorder.written()['/chatter']).toBeGreaterThanOrEqual(n), WAIT);
      await recorder.flush();
    };
    await send(40);
    const bag = recorder.bags[0]!;
    await vi.waitFor(() => expect(closed.length).toBeGreaterThanOrEqual(2), WAIT);
    await recorder.flush();
    const before = readFileSync(join(bag, 'metadata.yaml'), 'utf8');

    const report = await applyRetention({
      dataDir: dir,
      settings: EVERYTHING,
      syncRequired: false,
      recording: () => recorder.active(),
    });
    const deleted = report.deleted.map((d) => d.file);
    expect(deleted.length).toBeGreaterThanOrEqual(2);
    expect(deleted).not.toContain(recorder.currentFile);
    expect(deleted.every((f) => !recorder.active().files.includes(f))).toBe(true);
    // The recorder is the only writer of this file: retention's edit could undo (or break) its own write.
    expect(readFileSync(join(bag, 'metadata.yaml'), 'utf8')).toBe(before);
    expect(existsSync(bag)).toBe(true);

    await send(40); // closes the open split: metadata.yaml is written again
    await recorder.close();
    const after = metadataOf(bag);
    expect(after.files.map((f) => f.path).sort()).toEqual(splitsIn(bag));
    expect(after.customData[RETENTION_DELETED_KEY]!.split(',').sort()).toEqual(
      deleted.map((f) => f.split('/').pop()!).sort(),
    );
    expect(after.messageCount).toBe(after.files.reduce((n, f) => n + f.messageCount, 0));
  });

  it('a bag closed by rotation is left alone until its close is done: its last split is indexed, its directory stays', async () => {
    const { gate, io } = gatedIO();
    const { dir, bus, recorder, closed } = setup({ ...SMALL, bag_max_splits: 1 }, io);
    const pub = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    await recorder.start();
    pub.publish(codec.encode('std_msgs/msg/String', { data: 'first' }));
    await vi.waitFor(() => expect(recorder.written()['/chatter']).toBe(1), WAIT);
    await recorder.flush(); // the first bag's first metadata.yaml is written
    const first = recorder.bags[0]!;
    gate.dir = first;
    for (let i = 0; i < 30; i++) pub.publish(codec.encode('std_msgs/msg/String', { data: `${i} `.padEnd(200, '.') }));
    // The first bag is full: it is closing (its split ended, its metadata.yaml write held), recording went on.
    await vi.waitFor(() => expect(gate.held).toBe(true), WAIT);
    expect(recorder.bags.length).toBeGreaterThan(1);
    const split = join(first, splitsIn(first)[0]!);
    expect(closed).not.toContain(split);

    // Low on space and over every limit: everything not held by the recorder may go.
    const report = await applyRetention({
      dataDir: dir,
      settings: EVERYTHING,
      syncRequired: false,
      recording: () => recorder.active(),
      minFreeBytes: 1e12,
      diskSpace: async () => ({ free: 0, size: 1e13 }),
    });
    expect(report.deleted.map((d) => d.file)).not.toContain(split);
    expect(existsSync(split)).toBe(true);
    expect(existsSync(first)).toBe(true);

    gate.dir = ''; // the close's later writes go through
    gate.release();
    await vi.waitFor(() => expect(closed).toContain(split), WAIT); // handed to the lakehouse to index
    await recorder.close();
    expect(metadataOf(first).files.map((f) => f.path)).toEqual([split.split('/').pop()]);
    expect(existsSync(join(first, '.recording'))).toBe(false); // closed cleanly, not abandoned
  });

  it("two writers of one metadata.yaml never take each other's temporary file", async () => {
    const bag = join(work.path, 'tmp-names');
    mkdirSync(bag, { recursive: true });
    const path = join(bag, 'metadata.yaml');
    for (let i = 0; i < 50; i++) {
      const results = await Promise.allSettled([
        fsSegmentIO.writeAtomic(path, 'a\n'.repeat(2000)),
        fsSegmentIO.writeAtomic(path, 'b\n'.repeat(2000)),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    }
    expect(['a\n'.repeat(2000), 'b\n'.repeat(2000)]).toContain(readFileSync(path, 'utf8'));
    expect(readdirSync(bag)).toEqual(['metadata.yaml']);
  });
});

describe('recorded splits the lakehouse has not indexed yet', () => {
  it('go only when free space forces it, never for max_bytes or max_age_hours', async () => {
    const dataDir = join(work.path, 'unindexed');
    const { files } = await recordSmallBag(dataDir, registry);
    const old = { max_bytes: 1, max_age_hours: 1e-9, allow_unsynced_delete: true };
    const kept = await applyRetention({
      dataDir,
      settings: old,
      syncRequired: false,
      keepUnindexed: true,
      now: Date.now() + 3600_000,
    });
    expect(kept.deleted).toEqual([]);
    expect(files.every((f) => existsSync(f))).toBe(true);
    expect(kept.blocked).toMatch(/over retention.max_bytes .* recorded splits the lakehouse has not indexed yet/);

    const size = 1e9;
    // Just below the target: the oldest split is enough.
    const lowDisk = async (): Promise<DiskSpace> => ({
      size,
      free: freeSpaceTarget(1000, size) - (existsSync(files[0]!) ? 1000 : 0),
    });
    const forced = await applyRetention({
      dataDir,
      settings: old,
      syncRequired: false,
      keepUnindexed: true,
      minFreeBytes: 1000,
      diskSpace: lowDisk,
    });
    expect(forced.deleted.map((d) => [d.file, d.why])).toEqual([[files[0], 'free_space']]);
    expect(files.slice(1).every((f) => existsSync(f))).toBe(true);
  });

  it('the lakehouse keeps them: a pass before its start scan indexed them deletes none', async () => {
    const dataDir = join(work.path, 'unindexed-lakehouse');
    const { files } = await recordSmallBag(dataDir, registry);
    const lh = testLakehouse(dataDir, registry, {
      retention: { ...RETENTION_DEFAULTS, max_bytes: 1, check_interval_s: 86_400 },
    });
    await lh.start(); // queues retention, then the scan that indexes the splits
    await lh.idle();
    await lh.close();
    expect(files.every((f) => existsSync(f))).toBe(true);
  });
});

describe('the lakehouse after stop()', () => {
  it('a free-space check that was waiting on statfs when stop() returned queues no retention pass', async () => {
    const dataDir = join(work.path, 'stopped');
    const { files } = await recordSmallBag(dataDir, registry);
    let hold: ((space: DiskSpace) => void) | undefined;
    let armed = false;
    let free = 1e9;
    const size = 1e9;
    const diskSpace = (): Promise<DiskSpace> =>
      armed ? new Promise((resolve) => (hold = resolve)) : Promise.resolve({ size, free });
    const lh = testLakehouse(dataDir, registry, {
      retention: { ...RETENTION_DEFAULTS, check_interval_s: 86_400 },
      minFreeBytes: 1000,
      diskSpace,
      tickMs: 1,
    });
    await lh.start();
    await lh.idle();
    armed = true;
    await vi.waitFor(() => expect(hold).toBeDefined(), WAIT); // a tick is waiting on statfs
    await lh.close();
    armed = false;
    free = 0;
    hold!({ size, free }); // it answers: no space at all (a pass run now would delete everything)
    await new Promise((resolve) => setImmediate(resolve)); // lets the tick's continuation (microtasks) run
    await lh.idle();
    expect(files.every((f) => existsSync(f))).toBe(true);
  });
});
