import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';
import { Ros2Daemon } from './ros2-daemon.ts';
import { metadataSummary, playIntoRecorder, ros2BagInfo, type BagSummary } from './ros2-bags-cli.ts';
import { ros2Env } from './ros2-env.ts';

const DOMAIN = 70;
let env: NodeJS.ProcessEnv;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(() => {
  env = ros2Env(DOMAIN);
});

afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
});

/**
 * Reliable topics of the sim whose types the built core has (tf2_msgs is not in it: `ros2 bag play` skips /tf),
 * and the latched /map. Best-effort /scan is left out: a played count must be exact.
 */
const TOPICS = ['/odom', '/joint_states', '/map'];

/** The sim's daemon recording TOPICS with `recorder`'s options over the defaults. */
async function recordingDaemon(recorder: Record<string, unknown>): Promise<{ daemon: Ros2Daemon; bags: string }> {
  const daemon = await Ros2Daemon.start(
    env,
    { enabled: false },
    { sim: { enabled: true, speed: 4 }, recorder: { enabled: true, include: TOPICS, ...recorder } },
  );
  cleanups.push(() => daemon.stop());
  return { daemon, bags: join(daemon.dir, 'data', 'bags') };
}

/** The one bag directory under `bags`, and its MCAP files. */
function theBag(bags: string): { bag: string; mcaps: string[] } {
  const [name, ...more] = readdirSync(bags);
  expect(more, `one bag in ${bags}`).toEqual([]);
  const bag = join(bags, name!);
  return { bag, mcaps: readdirSync(bag).filter((f) => f.endsWith('.mcap')) };
}

/** The N of a split named <bag>_N.mcap. */
function splitIndex(file: string): number {
  return Number(/_(\d+)\.mcap$/.exec(file)?.[1]);
}

/** `ros2 bag info` says what metadata.yaml says: files, total, each topic's type and count, the duration. */
function expectSameSummary(theirs: BagSummary, ours: BagSummary): void {
  expect(theirs.files.toSorted()).toEqual(ours.files.toSorted());
  expect(theirs.total).toBe(ours.total);
  expect(theirs.topics).toEqual(ours.topics);
  // ros2 bag info prints seconds with 9 decimals: the nanoseconds exactly.
  expect(theirs.durationNs).toBe(ours.durationNs);
}

/** Played by `ros2 bag play` into `ros2 bag record`: every message of each topic comes out, with its type. */
async function expectPlayedWhole(bag: string, ours: BagSummary): Promise<void> {
  const out = tempDir('ros2-replayed-');
  cleanups.push(out.cleanup);
  const replayed = await playIntoRecorder(env, { bag, topics: TOPICS, into: join(out.path, 'replayed') });
  expect(replayed.topics).toEqual(new Map(TOPICS.map((t) => [t, ours.topics.get(t)])));
}

describe('ros2 bag and the bags the daemon recorded (rosbag2 0.26.5, MCAP)', () => {
  it('`ros2 bag info` of an lz4 bag split into several files lists every file and the total; `ros2 bag play` plays each message', async () => {
    const { daemon, bags } = await recordingDaemon({
      compression: 'lz4',
      chunk_size_bytes: 4096,
      flush_interval_ms: 100,
      split_max_bytes: 16 * 1024,
    });
    await waitFor(
      () => readdirSync(bags).length === 1 && theBag(bags).mcaps.length >= 3,
      'three splits of the bag',
      60_000,
    );
    // Stopped, not killed: the recorder closes the bag and writes its metadata.yaml.
    await stopChild(daemon.process.child, 'SIGINT');
    const { bag, mcaps } = theBag(bags);
    const ours = metadataSummary(bag);
    expect(ours.files.toSorted()).toEqual(mcaps.toSorted());
    expect(ours.topics.get('/odom')?.count).toBeGreaterThan(0);

    const theirs = await ros2BagInfo(env, bag);
    expect(theirs.stdout).toMatch(/Storage id:\s+mcap/);
    expectSameSummary(theirs, ours);
    await expectPlayedWhole(bag, ours);
  }, 240_000);

  it('`ros2 bag info` and `ros2 bag play` open an uncompressed bag cut by kill -9 and repaired by the daemon', async () => {
    const { daemon, bags } = await recordingDaemon({
      compression: 'none',
      chunk_size_bytes: 4096,
      flush_interval_ms: 100,
      split_max_bytes: 64 * 1024,
    });
    // Killed while a split is open with chunks in it, once one has closed: finished splits and one cut off
    // mid-write (an empty newest split would be left out of metadata.yaml, as rosbag2 does, not repaired).
    await waitFor(
      () => {
        if (readdirSync(bags).length !== 1) return false;
        const { bag, mcaps } = theBag(bags);
        const newest = mcaps.toSorted((a, b) => splitIndex(a) - splitIndex(b)).at(-1);
        return mcaps.length >= 2 && statSync(join(bag, newest!)).size >= 8 * 1024;
      },
      'a second split open with chunks in it',
      60_000,
    );
    await daemon.process.kill();
    const { bag } = theBag(bags);
    const repaired = await runCli(['bag', 'repair', bag, '--json'], { cwd: daemon.dir });
    expect(repaired.code, `${repaired.stdout}${repaired.stderr}`).toBe(0);
    expect(repaired.stdout).toContain('"repaired"');
    const ours = metadataSummary(bag);
    expect(ours.files.toSorted()).toEqual(theBag(bags).mcaps.toSorted());

    const theirs = await ros2BagInfo(env, bag);
    expectSameSummary(theirs, ours);
    await expectPlayedWhole(bag, ours);
  }, 240_000);
});
