import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import type { RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { readMcap } from '../../daemon/recorder/recorder-fixture.ts';
import { fsSegmentIO, type SegmentIO } from '../../daemon/recorder/segment-io.ts';
import { MESSAGE_OVERHEAD_BYTES, SnapshotBuffer } from '../../daemon/recorder/snapshot-buffer.ts';
import { Snapshotter } from '../../daemon/recorder/snapshot.ts';
import { SNAPSHOT_STAGING } from '../../daemon/recorder/snapshot-writer.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

/**
 * Edge cases of the snapshot recorder a robot meets: each test failed before its fix.
 */
const S = 1_000_000_000n;
const msg = (topic: string, logTime: bigint, bytes = 8): BusMessage => ({
  topic,
  type: 'std_msgs/msg/String',
  data: new Uint8Array(bytes),
  logTime,
  publishTime: logTime,
  source: 'test',
});
const topics = (b: SnapshotBuffer) => b.contents().map((m) => `${m.topic}@${Number(m.logTime / S)}`);

describe('snapshot buffer', () => {
  it('keeps the window when one message larger than max_bytes comes (a point cloud past a small max_bytes)', () => {
    const b = new SnapshotBuffer({ maxDurationNs: 30n * S, maxBytes: 64 * 1024, latched: () => false });
    for (let t = 1n; t <= 10n; t++) b.add(msg('/odom', t * S, 100));
    b.add(msg('/points', 11n * S, 128 * 1024)); // can never fit: it must not take the window with it
    b.add(msg('/odom', 12n * S, 100));
    expect(topics(b)).toEqual([...Array.from({ length: 10 }, (_, i) => `/odom@${i + 1}`), '/odom@12']);
    expect(b.bytes).toBe(11 * (100 + MESSAGE_OVERHEAD_BYTES));
    // said in health (too_large) and /metrics, not silently gone
    expect((b.stats() as { tooLarge?: number }).tooLarge).toBe(1);
  });

  it('keeps the other latched topics when a latched message larger than max_bytes comes', () => {
    const b = new SnapshotBuffer({ maxDurationNs: 30n * S, maxBytes: 64 * 1024, latched: (t) => t !== '/odom' });
    b.add(msg('/tf_static', 1n * S, 100));
    b.add(msg('/robot_description', 2n * S, 100));
    b.add(msg('/map', 3n * S, 100));
    b.add(msg('/map', 4n * S, 128 * 1024)); // too big to ever be kept
    expect(topics(b)).toEqual(['/tf_static@1', '/robot_description@2', '/map@3']);
    expect(b.bytes).toBe(3 * (100 + MESSAGE_OVERHEAD_BYTES));
  });

  it('does not hold a whole backing buffer for a message that is a view into it (bag play publishes views into decompressed chunks)', () => {
    const b = new SnapshotBuffer({ maxDurationNs: 30n * S, maxBytes: 64 * 1024 * 1024, latched: () => false });
    const chunk = new Uint8Array(4 * 1024 * 1024); // one decompressed MCAP chunk, a camera topic's messages in it
    for (let t = 1n; t <= 5n; t++)
      b.add({ ...msg('/cmd_vel', t * S), data: chunk.subarray(Number(t) * 1000, Number(t) * 1000 + 48) });
    // The buffer counts 5 x (48 + 320) bytes: what it retains must be that, not 5 references to 4 MiB.
    for (const m of b.contents()) expect(m.data.buffer.byteLength).toBeLessThan(64 * 1024);
    expect(b.contents().map((m) => m.data.byteLength)).toEqual([48, 48, 48, 48, 48]);
  });
});

const registry = new DefinitionsRegistry();
const codec = new MessageCodec(registry);
const cleanups = cleanupStack();

/** The first `pass` disk writes land; the next wait for `release()`: a slow SD card under a big snapshot. */
function gatedIO(pass: number) {
  let landed = 0;
  let waiting = 0;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const io: SegmentIO = {
    ...fsSegmentIO,
    async create(path) {
      const file = await fsSegmentIO.create(path);
      return {
        writev: async (pieces, position) => {
          if (landed++ >= pass) {
            waiting++;
            await gate;
          }
          await file.writev(pieces, position);
        },
        sync: () => file.sync(),
        close: () => file.close(),
      };
    },
  };
  return { io, release: () => open(), waiting: () => waiting };
}

function snapshotter(bus: Bus, bagsDir: string, io: SegmentIO) {
  const recorder = {
    ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
    compression: 'none' as const,
    chunk_size_bytes: 4096,
  };
  return new Snapshotter({
    bus,
    definitions: registry,
    log: pino({ level: 'silent' }),
    bagsDir,
    settings: { ...recorder.snapshot, enabled: true },
    writing: recorder,
    io,
  });
}

describe('snapshot component restarted by a reload while it writes', () => {
  it(
    "the new instance's start leaves alone the bag the old one is still writing (the supervisor's 5 s stop budget ran out)",
    { timeout: 30_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'snapshot-edges-'));
      const bagsDir = join(dir, 'bags');
      const bus = new Bus();
      const gated = gatedIO(2);
      const old = snapshotter(bus, bagsDir, gated.io);
      cleanups.push(() => {
        bus.close();
        rmSync(dir, { recursive: true, force: true });
      });
      await old.start();
      const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
      for (let i = 0; i < 10_000; i++) {
        chatter.publish(codec.encode('std_msgs/msg/String', { data: `message ${i} `.repeat(8) }));
        if (i % 500 === 0) await new Promise((r) => setImmediate(r));
      }
      const taking = old.snapshot();
      // The first chunks are on disk; then the disk is slow.
      await waitFor(() => gated.waiting() > 0, 'the snapshot to wait on the disk');
      expect(readdirSync(join(bagsDir, SNAPSHOT_STAGING))).toHaveLength(1);
      const stopping = old.close(); // the reload's stop: it waits for the write, past the supervisor's budget

      // The supervisor gave up waiting and started the new instance, which finishes "leftovers" at start.
      const fresh = snapshotter(bus, bagsDir, fsSegmentIO);
      await fresh.start();
      await fresh.close(); // waits for its leftovers pass
      gated.release();
      const taken = await taking; // the old instance's snapshot: whole, where it says
      await stopping;
      expect(taken?.messages).toBe(10_000);
      expect((await readMcap(taken!.file)).messages).toHaveLength(10_000);
    },
  );
});

describe('snapshot of a latched topic published long before the window', () => {
  it(
    'writes the kept /tf_static as a recorder started at the window would have it, so bag play does not wait out hours of silence first',
    { timeout: 30_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'snapshot-edges-'));
      const bagsDir = join(dir, 'bags');
      const bus = new Bus();
      const recorder = { ...(Value.Default(RecorderConfig, {}) as RecorderSettings) };
      const snap = new Snapshotter({
        bus,
        definitions: registry,
        log: pino({ level: 'silent' }),
        bagsDir,
        settings: { ...recorder.snapshot, enabled: true, max_duration_s: 0.02 },
        writing: recorder,
      });
      cleanups.push(async () => {
        await snap.close();
        bus.close();
        rmSync(dir, { recursive: true, force: true });
      });
      await snap.start();
      const tf = bus.advertise('/tf_static', 'std_msgs/msg/String', {
        source: 'test',
        qos: { durability: 'transient_local' },
      });
      const chatter = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
      const published = tf.publish(codec.encode('std_msgs/msg/String', { data: 'base_link->laser' })); // at bringup
      // The daemon runs on (20 ms stand for hours): the window moves well past the /tf_static message.
      await waitFor(() => {
        chatter.publish(codec.encode('std_msgs/msg/String', { data: 'odom' }));
        return (snap.health().details as { evicted: number }).evicted > 0;
      }, 'the window to move past the bringup');
      const taken = await snap.snapshot();
      const { reader } = await readMcap(taken!.file);
      const messages = [];
      for await (const m of reader.readMessages())
        messages.push({
          topic: reader.channelsById.get(m.channelId)!.topic,
          logTime: m.logTime,
          publishTime: m.publishTime,
        });
      const window = messages.filter((m) => m.topic === '/chatter');
      const kept = messages.find((m) => m.topic === '/tf_static')!;
      expect(kept.publishTime).toBe(published.publishTime); // its own stamp is kept
      // Its log time (what bag play and bag info go by) is the window's start: the bag spans the window only.
      expect(kept.logTime).toBe(window[0]!.logTime);
      expect(BigInt(taken!.end_ns) - BigInt(taken!.start_ns)).toBeLessThanOrEqual(20_000_000n);
    },
  );
});
