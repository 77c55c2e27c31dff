// The bags the recorder writes, opened by the tools users trust: rosbags (Python, its own CDR codec), the
// official Go MCAP library (what `mcap doctor` and `mcap info` are built on) and mcap-ros2-support.
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { repairBag } from '../../daemon/recorder/repair.ts';
import type { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { ROOT, runMain, tempDir } from '../helpers/cli.ts';
import { bundleChild } from '../helpers/fast-child.ts';
import { checkBagWithReaders, plain, type PeerMessage } from './bag-check.ts';

const work = tempDir('interop-bags-');
afterAll(() => work.cleanup());
const codec = new MessageCodec(new DefinitionsRegistry());

/**
 * Drives the sim for 3 s of sim time with the recorder on (splits of 20 KB) and the snapshot buffer on; `during`
 * runs at 1.5 s. Returns the data dir, its config file and every message the bus carried.
 */
async function recordDrive(name: string, compression: string, during?: (configFile: string) => Promise<void>) {
  const dataDir = join(work.path, name, 'data');
  const yaml = [
    `data_dir: ${dataDir}`,
    'sim: {enabled: true, speed: 10, paused: true}',
    `recorder: {enabled: true, compression: ${compression}, split_max_bytes: 20000, snapshot: {enabled: true, max_duration_s: 60}}`,
    'lakehouse: {enabled: false}',
    `api: {enabled: ${during !== undefined}, port: 0}`,
    'foxglove: {enabled: false}',
  ].join('\n');
  const configFile = join(work.path, `${name}.yaml`);
  writeFileSync(configFile, yaml);
  const daemon = new Daemon({ config: parseConfigText(yaml, configFile), log: pino({ level: 'silent' }), cwd: work.path });
  const seen: BusMessage[] = [];
  daemon.bus.subscribe({ name: 'test', topic: '**', queue: { policy: 'drop-newest', depth: 1_000_000 }, handler: (m) => void seen.push(m) });
  await daemon.start();
  try {
    const sim = daemon.components.get('sim') as TurtlebotMazeSim;
    sim.unpause();
    await sim.until(1.5);
    await during?.(configFile);
    await sim.until(3);
  } finally {
    await daemon.stop();
  }
  return { dataDir, configFile, seen };
}

/** Every message a peer read equals, field for field, the one the bus carried on that topic at that log time. */
function expectPublishedValues(read: PeerMessage[], seen: BusMessage[], all: boolean) {
  const published = new Map(seen.map((m) => [`${m.topic} ${m.logTime}`, m]));
  for (const m of read) {
    const bus = published.get(`${m.topic} ${m.log_time}`);
    expect(bus, `${m.topic} at ${m.log_time} was never published`).toBeDefined();
    expect(m.value, `${m.topic} at ${m.log_time}`).toEqual(plain(codec.decode(bus!.type, bus!.data)));
  }
  if (all) expect(read.length).toBe(seen.length);
}

const bagsIn = (dataDir: string) => readdirSync(join(dataDir, 'bags')).sort().map((b) => join(dataDir, 'bags', b));

describe('recorded bags, read by rosbags, the Go MCAP library and mcap-ros2-support', () => {
  let drive: Awaited<ReturnType<typeof recordDrive>>;
  let splitReply: { split: { file: string; messages: number } };
  let snapshotReply: { snapshot: { bag: string; messages: number } };
  beforeAll(async () => {
    // A zstd drive in which `bag split` and `bag snapshot` run against the daemon, as a user runs them.
    drive = await recordDrive('zstd', 'zstd', async (configFile) => {
      const split = await runMain(['bag', 'split', '--json', '--no-wait', '--config', configFile], { cwd: work.path });
      expect(split.code, split.stderr).toBe(0);
      splitReply = JSON.parse(split.stdout);
      const snapshot = await runMain(['bag', 'snapshot', '--json', '--no-wait', '--config', configFile], { cwd: work.path });
      expect(snapshot.code, snapshot.stderr).toBe(0);
      snapshotReply = JSON.parse(snapshot.stdout);
    });
  }, 120_000);

  it('open a zstd bag split by size and by `bag split` with every topic, QoS, hash and count, and every value published', { timeout: 60_000 }, async () => {
    const [bag] = bagsIn(drive.dataDir).filter((b) => !b.includes('snapshot_'));
    expect(splitReply.split.file.startsWith(bag!)).toBe(true);
    expect(splitReply.split.messages).toBeGreaterThan(0);
    const read = await checkBagWithReaders(bag!);
    expect(new Set(read.map((m) => m.topic))).toEqual(new Set(['/map', '/tf_static', '/robot_description', '/clock', '/odom', '/joint_states', '/tf', '/scan']));
    expectPublishedValues(read, drive.seen, true);
  });

  it('open the snapshot bag `bag snapshot` wrote, with the values published', { timeout: 60_000 }, async () => {
    const snapshot = bagsIn(drive.dataDir).find((b) => b.includes('snapshot_'))!;
    expect(snapshotReply.snapshot.bag).toBe(snapshot);
    const read = await checkBagWithReaders(snapshot);
    expect(read.length).toBe(snapshotReply.snapshot.messages);
    expect(read.length).toBeGreaterThan(100);
    expectPublishedValues(read, drive.seen, false);
  });

  for (const compression of ['lz4', 'none']) {
    it(`open a ${compression} bag with every value published`, { timeout: 90_000 }, async () => {
      const other = await recordDrive(compression, compression);
      const [bag] = bagsIn(other.dataDir);
      expectPublishedValues(await checkBagWithReaders(bag!), other.seen, true);
    });
  }

  it('open a bag recovered by `bag repair` after the recorder was killed with SIGKILL, with every message in order', { timeout: 90_000 }, async () => {
    const child = await bundleChild(join(ROOT, 'test/bags/record-child.ts'));
    try {
      const bagsDir = join(work.path, 'killed');
      await new Promise<void>((resolve, reject) => {
        const recording = spawn(process.execPath, child.args(bagsDir, 'zstd'), { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        // Killed while a split is open, once one has closed: the bag holds finished splits and one to repair.
        recording.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (/^closed /m.test(out)) setTimeout(() => recording.kill('SIGKILL'), 300);
        });
        recording.on('error', reject);
        recording.on('close', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the child exited by itself:\n${out}`))));
      });
      const [name] = readdirSync(bagsDir);
      const report = await repairBag(join(bagsDir, name!));
      expect(report.files.some((f) => f.state === 'repaired')).toBe(true);
      const read = await checkBagWithReaders(join(bagsDir, name!));
      expect(read.length).toBeGreaterThan(100);
      // The child publishes "0", "1", ... on /seq: kept in order, once each (past the last flush a gap may be).
      const seqs = read.map((m) => Number((m.value as { data: string }).data));
      expect(seqs[0]).toBe(0);
      expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
    } finally {
      child.cleanup();
    }
  });
});
