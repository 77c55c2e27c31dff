// The bags the recorder writes, opened by the tools users trust: rosbags (Python, its own CDR codec), the
// official Go MCAP library (what `mcap doctor` and `mcap info` are built on) and mcap-ros2-support.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { repairBag } from '../../daemon/recorder/repair.ts';
import { ROOT, runMain, tempDir } from '../helpers/cli.ts';
import { bundleChild } from '../helpers/fast-child.ts';
import { checkBagWithReaders, plain, type PeerMessage } from './bag-check.ts';
import { recordDrive } from './sim-drive.ts';

const work = tempDir('interop-bags-');
afterAll(() => work.cleanup());
const codec = new MessageCodec(new DefinitionsRegistry());

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

const bagsIn = (dataDir: string) =>
  readdirSync(join(dataDir, 'bags'))
    .sort()
    .map((b) => join(dataDir, 'bags', b));

describe('recorded bags, read by rosbags, the Go MCAP library and mcap-ros2-support', () => {
  let drive: Awaited<ReturnType<typeof recordDrive>>;
  let splitReply: { split: { file: string; messages: number } };
  let snapshotReply: { snapshot: { bag: string; messages: number } };
  beforeAll(async () => {
    // A zstd drive in which `bag split` and `bag snapshot` run against the daemon, as a user runs them.
    drive = await recordDrive(work.path, 'zstd', {
      compression: 'zstd',
      during: async (configFile) => {
        const split = await runMain(['bag', 'split', '--json', '--no-wait', '--config', configFile], {
          cwd: work.path,
        });
        expect(split.code, split.stderr).toBe(0);
        splitReply = JSON.parse(split.stdout);
        const snapshot = await runMain(['bag', 'snapshot', '--json', '--no-wait', '--config', configFile], {
          cwd: work.path,
        });
        expect(snapshot.code, snapshot.stderr).toBe(0);
        snapshotReply = JSON.parse(snapshot.stdout);
      },
    });
  }, 300_000);

  it(
    'open a zstd bag split by size and by `bag split` with every topic, QoS, hash and count, and every value published',
    { timeout: 240_000 },
    async () => {
      const [bag] = bagsIn(drive.dataDir).filter((b) => !b.includes('snapshot_'));
      expect(splitReply.split.file.startsWith(bag!)).toBe(true);
      expect(splitReply.split.messages).toBeGreaterThan(0);
      const read = await checkBagWithReaders(bag!);
      expect(new Set(read.map((m) => m.topic))).toEqual(
        new Set([
          ...['/map', '/tf_static', '/robot_description', '/clock', '/odom', '/joint_states', '/tf', '/scan'],
          ...['/camera/image_raw', '/camera/camera_info'],
        ]),
      );
      expectPublishedValues(read, drive.seen, true);
    },
  );

  it('open the snapshot bag `bag snapshot` wrote, with the values published', { timeout: 240_000 }, async () => {
    const snapshot = bagsIn(drive.dataDir).find((b) => b.includes('snapshot_'))!;
    expect(snapshotReply.snapshot.bag).toBe(snapshot);
    const read = await checkBagWithReaders(snapshot);
    expect(read.length).toBe(snapshotReply.snapshot.messages);
    expect(read.length).toBeGreaterThan(100);
    expectPublishedValues(read, drive.seen, false);
  });

  for (const compression of ['lz4', 'none']) {
    it(`open a ${compression} bag with every value published`, { timeout: 240_000 }, async () => {
      const other = await recordDrive(work.path, compression, { compression });
      const [bag] = bagsIn(other.dataDir);
      expectPublishedValues(await checkBagWithReaders(bag!), other.seen, true);
    });
  }

  it(
    'open a bag recovered by `bag repair` after the recorder was killed with SIGKILL, with every message in order',
    { timeout: 240_000 },
    async () => {
      const child = await bundleChild(join(ROOT, 'test/recorder/record-child.ts'));
      try {
        const bagsDir = join(work.path, 'killed');
        await new Promise<void>((resolve, reject) => {
          const recording = spawn(process.execPath, child.args(bagsDir, 'zstd'), {
            cwd: ROOT,
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          // Killed while a split is open, once one has closed: the bag holds finished splits and one to repair.
          recording.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (/^closed /m.test(out)) setTimeout(() => recording.kill('SIGKILL'), 300);
          });
          recording.on('error', reject);
          recording.on('close', (_code, signal) =>
            signal === 'SIGKILL' ? resolve() : reject(new Error(`the child exited by itself:\n${out}`)),
          );
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
    },
  );
});
