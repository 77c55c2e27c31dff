import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { McapStreamReader } from '@mcap/core';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { decompressHandlers } from '../../daemon/bags/decompress.ts';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { runMain } from '../helpers/cli.ts';
import { tick, waitFor } from '../helpers/wait.ts';
import type { RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { faultyIO, readMcap } from '../../daemon/recorder/recorder-fixture.ts';
import type { SegmentIO } from '../../daemon/recorder/segment-io.ts';
import { Snapshotter, type SnapshotSettings } from '../../daemon/recorder/snapshot.ts';
import { SNAPSHOT_STAGING } from '../../daemon/recorder/snapshot-writer.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const registry = new DefinitionsRegistry();
const codec = new MessageCodec(registry);
const text = (s: string) => codec.encode('std_msgs/msg/String', { data: s });
const cleanups = cleanupStack();

function setup(
  settings: Partial<SnapshotSettings> = {},
  io?: SegmentIO,
  dir = mkdtempSync(join(tmpdir(), 'snapshot-')),
  writing: Partial<RecorderSettings> = {},
) {
  const bus = new Bus();
  const recorder = { ...(Value.Default(RecorderConfig, {}) as RecorderSettings), ...writing };
  const handed: [string, string][] = [];
  const snap = new Snapshotter({
    bus,
    definitions: registry,
    log: pino({ level: 'silent' }),
    bagsDir: join(dir, 'bags'),
    settings: { ...recorder.snapshot, enabled: true, ...settings },
    writing: recorder,
    io,
    onBag: (file, bag) => handed.push([file, bag]),
  });
  cleanups.push(async () => {
    await snap.close();
    bus.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, bagsDir: join(dir, 'bags'), bus, snap, handed };
}

/** The messages' log times in the order they are in the file (an indexed reader sorts them itself). */
async function fileOrder(file: string): Promise<bigint[]> {
  const reader = new McapStreamReader({ decompressHandlers: await decompressHandlers(), validateCrcs: true });
  reader.append(readFileSync(file));
  const times: bigint[] = [];
  for (let r; (r = reader.nextRecord());) if (r.type === 'Message') times.push(r.logTime);
  return times;
}
const sorted = (times: bigint[]) => [...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** The bags in `bagsDir` (the staging directory is no bag). */
const bags = (bagsDir: string) =>
  existsSync(bagsDir)
    ? readdirSync(bagsDir)
        .filter((n) => n !== SNAPSHOT_STAGING)
        .sort()
    : [];

describe('Snapshotter (ros2 bag record --snapshot-mode, ~/snapshot)', () => {
  it('writes what it buffered to a new bag: every message byte for byte, in log-time order, late and latched topics included', async () => {
    const { bus, snap, bagsDir, handed } = setup({ exclude: ['/ignored'] });
    const map = bus.advertise('/map_name', 'std_msgs/msg/String', {
      source: 'test',
      qos: { durability: 'transient_local' },
    });
    // before start: replayed to the buffer as to any late subscriber
    const sent: BusMessage[] = [map.publish(text('the map'))];
    await snap.start();
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    const ignored = bus.advertise('/ignored', 'std_msgs/msg/String', { source: 'test' });
    for (let i = 0; i < 20; i++) {
      sent.push(chatter.publish(text(`c${i}`)));
      ignored.publish(text('not buffered'));
      if (i % 5 === 0) await tick();
    }
    const late = bus.advertise('/late', 'std_msgs/msg/String', { source: 'test' }); // a topic that appears after start
    sent.push(late.publish(text('late'), 5n)); // publish time as the source gave it
    const taken = await snap.snapshot(); // asked before the last messages reached the buffer: they belong in it
    expect(taken).toMatchObject({
      messages: 22,
      joined: false,
      topics: { '/map_name': 1, '/chatter': 20, '/late': 1 },
    });
    const name = basename(taken!.bag);
    expect(name).toMatch(/^snapshot_\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d$/);
    expect(bags(bagsDir)).toEqual([name]);
    expect(taken!.file).toBe(join(bagsDir, name, `${name}_0.mcap`));
    expect(handed).toEqual([[taken!.file, taken!.bag]]);
    const order = [...sent].sort((a, b) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0));
    expect([taken!.start_ns, taken!.end_ns]).toEqual([String(order[0]!.logTime), String(order.at(-1)!.logTime)]);

    expect(await fileOrder(taken!.file)).toEqual(order.map((m) => m.logTime));
    const { messages, reader } = await readMcap(taken!.file);
    expect(messages.map((m) => [m.topic, m.logTime, Buffer.from(m.data).toString('hex')])).toEqual(
      order.map((m) => [m.topic, m.logTime, Buffer.from(m.data).toString('hex')]),
    );
    const publishTimes = [];
    for await (const m of reader.readMessages({ topics: ['/late'] })) publishTimes.push(m.publishTime);
    expect(publishTimes).toEqual([5n]);
    const meta = parseMetadata(readFileSync(join(taken!.bag, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(meta.files.map((f) => [f.path, f.messageCount])).toEqual([[`${name}_0.mcap`, 22]]);
    expect((meta.topics.find((t) => t.name === '/map_name')?.offeredQosProfiles as object[])[0]).toMatchObject({
      durability: 'transient_local',
    });

    const info = await runMain(['bag', 'info', taken!.bag, '--json']);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ messageCount: 22, files: [{ path: taken!.file }] });
    expect(snap.health()).toMatchObject({
      state: 'running',
      details: { messages: 22, snapshots: 1, topics: 3, last_bag: taken!.bag },
    });
  });

  it("keeps a latched topic's last message out of the window, and is not emptied by a snapshot", async () => {
    const { bus, snap, bagsDir } = setup({ max_duration_s: 0.02 });
    await snap.start();
    const map = bus.advertise('/map_name', 'std_msgs/msg/String', {
      source: 'test',
      qos: { durability: 'transient_local' },
    });
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    map.publish(text('the map'));
    const first = chatter.publish(text('first'));
    await tick();
    // Published until the first /chatter message has left the 20 ms window (its log time is older than that).
    await waitFor(() => {
      chatter.publish(text('more'));
      return (snap.health().details as { evicted: number }).evicted > 0;
    }, 'the window to move past the first messages');
    const a = await snap.snapshot();
    const written = (await readMcap(a!.file)).messages.map((m) => [
      m.topic,
      (codec.decode('std_msgs/msg/String', m.data) as { data: string }).data,
    ]);
    expect(written[0]).toEqual(['/map_name', 'the map']); // older than the window, kept
    // 'first' went
    expect(written.slice(1).every(([topic, data]) => topic === '/chatter' && data === 'more')).toBe(true);
    expect(BigInt(a!.start_ns)).toBeGreaterThan(first.logTime); // the kept map is written at the window's start
    const times = await fileOrder(a!.file);
    expect(times).toEqual(sorted(times)); // the map, kept out of the window, written first

    const b = await snap.snapshot(); // the same window again (nothing new came): a bag of its own
    expect(b).toMatchObject({ messages: a!.messages, joined: false });
    expect(b!.bag).not.toBe(a!.bag);
    expect(bags(bagsDir)).toHaveLength(2);
  });

  it('gives a trigger that comes while a snapshot is being written that same bag (joined), and writes nothing for an empty buffer', async () => {
    const { bus, snap, bagsDir, handed } = setup();
    await snap.start();
    expect(await snap.snapshot()).toBeUndefined();
    expect(bags(bagsDir)).toEqual([]);
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    for (let i = 0; i < 5; i++) chatter.publish(text(`m${i}`));
    const [a, b] = await Promise.all([snap.snapshot(), snap.snapshot()]);
    expect(a).toMatchObject({ messages: 5, joined: false });
    expect(b).toEqual({ ...a, joined: true });
    expect(bags(bagsDir)).toEqual([basename(a!.bag)]);
    expect(handed).toHaveLength(1);
    expect((snap.health().details as { snapshots: number }).snapshots).toBe(1);
  });

  it('answers the bus query recorder/snapshot with the bag as JSON; nothing serves it once stopped', async () => {
    const { bus, snap } = setup();
    await snap.start();
    bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' }).publish(text('x'));
    const reply = await bus.query('recorder/snapshot', { encoding: 'application/json', payload: new Uint8Array() });
    expect(reply.encoding).toBe('application/json');
    const json = JSON.parse(new TextDecoder().decode(reply.payload)) as { snapshot: { bag: string; messages: number } };
    expect(json.snapshot).toMatchObject({ messages: 1, joined: false });
    expect(existsSync(join(json.snapshot.bag, 'metadata.yaml'))).toBe(true);
    await snap.close();
    await expect(
      bus.query('recorder/snapshot', { encoding: 'application/json', payload: new Uint8Array() }),
    ).rejects.toMatchObject({ code: 'no_queryable' });
    await expect(snap.snapshot()).rejects.toMatchObject({ statusCode: 503 });

    // A start that fails (the query is served already) leaves nothing subscribed.
    const taken = bus.serve('recorder/snapshot', async () => ({ encoding: 'text/plain', payload: new Uint8Array() }));
    await expect(snap.start()).rejects.toThrow('query recorder/snapshot is already served');
    bus.advertise('/after', 'std_msgs/msg/String', { source: 'test' });
    expect(bus.subscriptions().filter((s) => s.name === 'snapshot')).toEqual([]);
    taken();
  });

  it('on a full disk: a clear error, nothing left behind, the buffer kept, and the next snapshot (with room) has it all', async () => {
    let failing: string | undefined = 'ENOSPC';
    const { bus, snap, bagsDir, handed } = setup(
      {},
      faultyIO(() => failing),
    );
    await snap.start();
    const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    for (let i = 0; i < 30; i++) chatter.publish(text(`m${i}`));
    await tick();
    const error = await snap.snapshot().catch((e: unknown) => e as NodeJS.ErrnoException);
    expect(error).toMatchObject({
      code: 'ENOSPC',
      message: expect.stringMatching(
        /^no snapshot written: the disk holding .+\/bags is full.*ENOSPC.*; the buffer is kept \(30 messages\)\. Free space there .+ and ask again$/,
      ),
    });
    expect(readdirSync(bagsDir)).toEqual([]); // the partial bag and its staging directory removed
    expect(handed).toEqual([]);
    expect(snap.health()).toMatchObject({
      state: 'degraded',
      reason: expect.stringContaining('the last snapshot failed: no snapshot written: the disk'),
      details: { messages: 30, failed: 1, snapshots: 0 },
    });
    expect(snap.metrics().find((m) => m.name === 'auraison_snapshot_failed_total')!.samples[0]!.value).toBe(1);

    failing = undefined;
    const ok = await snap.snapshot();
    expect(ok).toMatchObject({ messages: 30 });
    expect((await readMcap(ok!.file)).messages).toHaveLength(30);
    expect(snap.health().state).toBe('running');
  });

  it('finishes at start a snapshot bag a daemon was killed while writing: repaired, moved into place, handed over', async () => {
    // many chunks: a cut keeps the first ones
    const first = setup({}, undefined, undefined, { compression: 'none', chunk_size_bytes: 1024 });
    await first.snap.start();
    const chatter = first.bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
    for (let i = 0; i < 200; i++) chatter.publish(text(`message ${i} `.repeat(20)));
    const whole = await first.snap.snapshot();
    // The bag as a killed writer leaves it: in the staging directory, its split cut off before its summary,
    // and metadata.yaml listing no split yet.
    const dir = mkdtempSync(join(tmpdir(), 'snapshot-'));
    const name = basename(whole!.bag);
    const cut = join(dir, 'bags', SNAPSHOT_STAGING, name);
    mkdirSync(cut, { recursive: true });
    copyFileSync(whole!.file, join(cut, basename(whole!.file)));
    truncateSync(join(cut, basename(whole!.file)), Math.floor(readFileSync(whole!.file).byteLength / 2));
    writeFileSync(
      join(cut, 'metadata.yaml'),
      readFileSync(join(whole!.bag, 'metadata.yaml'), 'utf8').replace(/files:[\s\S]*$/, 'files: []\n'),
    );
    mkdirSync(join(dir, 'bags', SNAPSHOT_STAGING, 'snapshot_empty'));

    const { snap, bagsDir, handed } = setup({}, undefined, dir);
    await snap.start();
    await waitFor(() => handed.length === 1, 'the cut snapshot to be finished');
    expect(bags(bagsDir)).toEqual([name]);
    expect(existsSync(join(bagsDir, SNAPSHOT_STAGING))).toBe(false); // the empty one removed, then the directory
    const { messages } = await readMcap(handed[0]![0]);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.length).toBeLessThan(200);
    const info = await runMain(['bag', 'info', join(bagsDir, name), '--json']);
    expect(JSON.parse(info.stdout)).toMatchObject({ messageCount: messages.length });
  });
});
