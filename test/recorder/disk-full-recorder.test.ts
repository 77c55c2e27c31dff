import { cpSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { RECORDING_MARKER, Recorder, type RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { tempDir } from '../helpers/cli.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { canMountTmpfs, fillDisk, mountSmallTmpfs } from '../helpers/small-tmpfs.ts';
import { RETENTION_DEFAULTS } from '../helpers/test-lakehouse.ts';
import { tick, waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const registry = new DefinitionsRegistry();
const codec = new MessageCodec(registry);
const cleanups = cleanupStack();
const metadataOf = (bag: string) => parseMetadata(readFileSync(join(bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
const MIN_FREE = 64 * 1024;

/** A recorder writing `<disk>/bags` on a real tmpfs, its log lines kept. */
function recorderOn(disk: string, minFree = MIN_FREE) {
  const bus = new Bus();
  const lines: { level: number; msg: string; bag?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const settings = {
    ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
    enabled: true,
    compression: 'none' as const,
    chunk_size_bytes: 2048,
    min_free_bytes: minFree,
  };
  const closed: string[] = [];
  const recorder = new Recorder({
    bus,
    definitions: registry,
    log,
    bagsDir: join(disk, 'bags'),
    settings,
    diskCheckMs: 20,
    onSplitClosed: (file) => closed.push(file),
  });
  cleanups.push(async () => {
    await recorder.close();
    bus.close();
  });
  const pub = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
  const publish = async (n: number) => {
    for (let i = 0; i < n; i++) pub.publish(codec.encode('std_msgs/msg/String', { data: `${i} `.padEnd(200, '.') }));
    await tick();
  };
  return { recorder, publish, lines, closed };
}

function tmpfs(size: string) {
  const disk = mountSmallTmpfs(size);
  cleanups.push(disk.cleanup);
  return disk;
}

/**
 * Real small tmpfs mounts, filled by another "program" (a file of zeros): what the recorder does when the
 * robot's eMMC is already full at start, and what retention may take while it waits for room.
 */
describe.runIf(canMountTmpfs())('the recorder on a real full disk', () => {
  it('starts on a disk already full: stopped (disk_full, saying what is short), no bag made, and records once the disk grows', async () => {
    const disk = tmpfs('512k');
    fillDisk(disk.path);
    const { recorder, publish } = recorderOn(disk.path);
    await recorder.start(); // used to throw ENOSPC (a bag's marker it could not write): the component failed to start
    expect(recorder.state).toBe('disk_full');
    expect(recorder.health()).toMatchObject({
      state: 'degraded',
      reason: expect.stringMatching(
        /^disk full: recording stopped at \S+ \(ENOSPC: only 0 bytes free, below recorder\.min_free_bytes \(65536\)\); resumes once 65536 bytes and 16 inodes are free$/,
      ),
    });
    expect(readdirSync(join(disk.path, 'bags'))).toEqual([]); // no bag to abandon (and repair) a second later
    await publish(3);
    expect(recorder.drops()).toEqual({ '/chatter': 3 });

    disk.resize('4m');
    await waitFor(() => recorder.state === 'recording', 'recording once the disk grew');
    await publish(5);
    await recorder.close();
    expect(recorder.bags).toHaveLength(1);
    expect(metadataOf(recorder.bags[0]!).messageCount).toBe(5);
  });

  it('below min_free_bytes (room left) closes the bag cleanly: listed, handed to the lakehouse, nothing to repair; resumes into a new bag', async () => {
    const disk = tmpfs('2m');
    const { recorder, publish, closed } = recorderOn(disk.path, 512 * 1024);
    await recorder.start();
    await publish(300);
    await recorder.flush();
    // another program leaves 256 KiB: below min_free_bytes, room to close
    const filler = fillDisk(disk.path, 256 * 1024);
    await waitFor(() => recorder.state === 'disk_full', 'recording stopped below min_free_bytes');
    const [bag] = recorder.bags;
    // Closed as at a stop: its split listed with every message and handed over at once, so retention may
    // take it, oldest first, to make room; it used to be abandoned, for a repair that needs a copy of it.
    await waitFor(
      () => closed.length === 1 && recorder.active().closing.length === 0,
      'the bag closed, its split handed to the lakehouse',
    );
    expect(metadataOf(bag!).messageCount).toBe(300);
    expect(readdirSync(bag!).sort()).toEqual(['metadata.yaml', basename(closed[0]!)]);
    expect(recorder.active()).toEqual({ files: [], bags: [], closing: [] });

    filler.free();
    await waitFor(() => recorder.state === 'recording', 'the resume');
    await publish(1);
    await recorder.close();
    expect(recorder.bags.map((b) => metadataOf(b).messageCount)).toEqual([300, 1]);
  });

  it('keeps the split it abandoned on a full disk from retention until its repair lists it, so its messages are kept', async () => {
    const disk = tmpfs('1m');
    const { recorder, publish, lines } = recorderOn(disk.path);
    await recorder.start();
    await publish(300);
    await recorder.flush(); // on disk, in a split that has no summary yet
    const filler = fillDisk(disk.path);
    await waitFor(() => recorder.state === 'disk_full', 'recording stopped for the full disk');
    const [bag] = recorder.bags;
    const split = join(
      bag!,
      readdirSync(bag!).find((f) => f.endsWith('.mcap'))!,
    );

    // Retention, as the lakehouse runs it while free space is below its target: everything of ours may go
    // to keep the recorder going, but not a split the recorder still holds (it deleted this one).
    const report = await applyRetention({
      dataDir: disk.path,
      settings: RETENTION_DEFAULTS,
      syncRequired: false,
      keepUnindexed: true,
      minFreeBytes: MIN_FREE,
      recording: () => recorder.active(),
    });
    expect(report.deleted).toEqual([]);
    expect(existsSync(split)).toBe(true);

    filler.free();
    await waitFor(() => recorder.state === 'recording', 'the resume');
    // The repair listed the split with every message flushed before the disk filled (not "nothing was recorded").
    expect(metadataOf(bag!).messageCount).toBe(300);
    expect(existsSync(join(bag!, RECORDING_MARKER))).toBe(false);
    expect(lines.filter((l) => /nothing was recorded/.test(l.msg))).toEqual([]);
    expect(recorder.active().files).not.toContain(split); // handed over: retention's like any other split now
  });

  it('a bag left open that a full disk keeps from being repaired at start waits, kept from retention, and is repaired once there is room', async () => {
    const work = tempDir('disk-full-leftover-');
    cleanups.push(work.cleanup);
    const { bag: recorded, files } = await recordSmallBag(work.path, registry, 320);
    const disk = tmpfs('512k');
    // A recorder killed mid-split: its marker (a dead pid), the last split cut short, no metadata.yaml yet.
    const bag = join(disk.path, 'bags', 'rosbag2_left_open');
    cpSync(recorded, bag, { recursive: true });
    const last = join(bag, files.at(-1)!.split('/').at(-1)!);
    truncateSync(last, readFileSync(last).byteLength - 100);
    rmSync(join(bag, 'metadata.yaml'));
    writeFileSync(join(bag, RECORDING_MARKER), '999999999\n');
    fillDisk(disk.path, 4096); // a page left: the repair's copy of the cut split does not fit

    const { recorder, publish, lines } = recorderOn(disk.path);
    await recorder.start();
    expect(recorder.state).toBe('disk_full');
    expect(recorder.health().reason).toMatch(
      /^disk full: recording stopped at \S+ \(ENOSPC: no space left on device, write; repairing rosbag2_left_open: rewriting rosbag2_\S+_3\.mcap \(\d+ KiB\), which takes about as much free space again/,
    );
    expect(lines.filter((l) => l.level >= 50 && /could not be repaired and was left as it was/.test(l.msg))).toEqual(
      [],
    );
    expect(lines.find((l) => /could not be repaired yet: the disk is full/.test(l.msg))).toMatchObject({
      level: 40,
      bag,
    });
    expect(readdirSync(bag).filter((f) => /\.orig|\.repairing/.test(f))).toEqual([]);
    // Its splits (none listed yet) are the recorder's until the repair lists them.
    expect(recorder.active().files.sort()).toEqual(
      readdirSync(bag)
        .filter((f) => f.endsWith('.mcap'))
        .map((f) => join(bag, f))
        .sort(),
    );

    disk.resize('4m');
    await waitFor(() => recorder.state === 'recording', 'recording once the leftover is repaired');
    expect(existsSync(join(bag, RECORDING_MARKER))).toBe(false);
    const meta = metadataOf(bag);
    expect(meta.files).toHaveLength(4);
    expect(meta.messageCount).toBeGreaterThanOrEqual(300); // the cut chunk's messages at most are lost
    await publish(1);
    await recorder.close();
    expect(metadataOf(recorder.bags.at(-1)!).messageCount).toBe(1);
  });
});
