import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { McapIndexedReader } from '@mcap/core';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { decompressHandlers } from '../../daemon/bags/decompress.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { isHiddenTopic } from '../../daemon/bus/index.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { running } from '../helpers/daemon.ts';

const work = tempDir('sim-roundtrip-');
afterAll(() => work.cleanup());

describe('round trip: record the simulator, read back with @mcap/core', () => {
  it('gives back every message byte for byte, in order, per topic', { timeout: 60_000 }, async () => {
    // No network servers (fixed ports), the sim held at 0 until the recorder is up, and splits by size:
    // what is recorded is fixed by sim time, not by how fast this machine is.
    const yaml = [
      `data_dir: ${join(work.path, 'data')}`,
      'sim: {enabled: true, speed: 10, paused: true}',
      'recorder: {enabled: true, compression: zstd, split_max_bytes: 20000}',
      'lakehouse: {enabled: false}',
      'api: {enabled: false}',
      'foxglove: {enabled: false}',
    ].join('\n');
    const config = parseConfigText(yaml, 'edge.yaml');
    const daemon = new Daemon({ config, log: pino({ level: 'silent' }), cwd: work.path });
    const seen: BusMessage[] = [];
    // A second subscriber with a queue deep enough to miss nothing: what the bus delivered, to compare with.
    daemon.bus.subscribe({
      name: 'test',
      topic: '**',
      queue: { policy: 'drop-newest', depth: 1_000_000 },
      // Hidden topics (the sim's /navigate_to_pose/_action/status) are not recorded (recorder.include_hidden).
      handler: (m) => void (isHiddenTopic(m.topic) || seen.push(m)),
    });
    await daemon.start();
    const sim = running(daemon, TurtlebotMazeSim)!;
    sim.unpause();
    await sim.until(3); // 3 s of sim time: 15 scans, 90 odometry messages
    await daemon.close();

    const bagsDir = join(work.path, 'data', 'bags');
    const [bag] = readdirSync(bagsDir);
    const meta = parseMetadata(readFileSync(join(bagsDir, bag!, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
    expect(meta.files.length).toBeGreaterThan(1);
    const recorded: { topic: string; logTime: bigint; data: Uint8Array }[] = [];
    for (const f of meta.files) {
      const bytes = readFileSync(join(bagsDir, bag!, f.path));
      const reader = await McapIndexedReader.Initialize({
        readable: {
          size: async () => BigInt(bytes.byteLength),
          read: async (o, l) => bytes.subarray(Number(o), Number(o + l)),
        },
        decompressHandlers: await decompressHandlers(),
      });
      expect(reader.header.profile).toBe('ros2');
      for await (const m of reader.readMessages())
        recorded.push({ topic: reader.channelsById.get(m.channelId)!.topic, logTime: m.logTime, data: m.data });
    }
    const drops = meta.customData['auraison_edge.dropped_messages'];
    expect(drops).toBeUndefined();
    expect(recorded.length).toBe(seen.length);
    expect(recorded.length).toBeGreaterThan(100);
    const topics = new Set(seen.map((m) => m.topic));
    expect([...topics]).toEqual(expect.arrayContaining(['/scan', '/odom', '/tf', '/map']));
    for (const topic of topics) {
      const a = seen.filter((m) => m.topic === topic);
      const b = recorded.filter((m) => m.topic === topic);
      expect(b.length, topic).toBe(a.length);
      for (let i = 0; i < a.length; i++) {
        expect(b[i]!.logTime).toBe(a[i]!.logTime);
        expect(Buffer.from(b[i]!.data).equals(Buffer.from(a[i]!.data)), `${topic} #${i}`).toBe(true);
      }
    }
  });
});
