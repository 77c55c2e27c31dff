// docs/arm.md as written: each of its command blocks run by bash, in order, from the checkout into the folder the page
// puts the user in (a temporary one here for its /tmp/arm): a daemon records lerobot-env-so101's scripted
// pick-and-place on the simulated SO-101, its episodes are cut by the expert's marks and exported as a LeRobot v3.0
// dataset with video, LeRobot 0.6.1 loads it, an ACT sized by it is exported to ONNX, the page's arm.yaml runs it in a
// daemon's loop, and the third shell's commands act on it: the loop's trajectories move the simulated joints within
// the URDF's limits, the operator's stop holds the arm where it was measured, its release moves nothing, and the
// operator's start lets the policy drive again. What the arm did is read from the node's own trace.
// Changes, the machine's and not the page's: the configs get free ports (another daemon there would answer on 7400),
// the peers' cache is this machine's, and the shells are in a ROS 2 domain of the test's own.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorText } from '../../daemon/util/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { needFfmpeg } from '../helpers/ffmpeg.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { shellBlocks, walkthroughShells, type WalkthroughShell } from '../helpers/walkthrough.ts';
import { lerobotPython, PEERS_CACHE } from '../peers/index.ts';
import { SO101_JOINTS, so101Peer, type So101Event, type So101TraceLine } from '../peers/arm.ts';

// A domain no other test uses: the fixed ones are below 72 and 230..232 (Fast DDS takes none past 232), test/ros2dds
// picks from 100..229.
const DOMAIN = 94;
const TRAJECTORY = '/arm_controller/joint_trajectory';
/**
 * How far past a limit a commanded position may be (rad): a hold sends the measured position, and MuJoCo's soft joint
 * limits let a joint driven against its stop pass the range by a fraction of a mrad.
 */
const PAST_LIMIT = 1e-3;
/** How near the held position the arm settles (rad): P-only position servos with friction, as test/arm's. */
const SETTLED = 0.02;

const CACHE = '~/.cache/auraison-edge-peers';
/** A block with this machine's peers' cache for the page's. */
const here = (block: string) =>
  ['${HOME}/.cache/auraison-edge-peers', '$HOME/.cache/auraison-edge-peers', CACHE].reduce(
    (text, cache) => text.replaceAll(cache, PEERS_CACHE),
    block,
  );
const blocks = shellBlocks('arm.md').map(here);
const WALK = '/tmp/arm';

const work = tempDir('arm-walkthrough-');
let env: NodeJS.ProcessEnv = {};
/** The page's setup block, as a shell in the checkout runs it, into this test's folder. */
function setup(): string {
  const first = blocks[0]!;
  expect(first).toContain(`mkdir -p ${WALK} && cd ${WALK}`);
  return `set -e\n${first.replaceAll(WALK, work.path)}`;
}
const { run, start, killAll } = walkthroughShells(setup, () => env);
afterAll(() => {
  killAll();
  work.cleanup();
});

/** A block that ends with `line` (a daemon's run), as the commands before it and the line. */
function beforeRun(block: string, line: string): string {
  expect(block.trimEnd().endsWith(line)).toBe(true);
  return block.trimEnd().slice(0, -line.length);
}

/** The node's stdout events so far. */
const events = (stdout: string): So101Event[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as So101Event);

/** The node's trace so far: the simulator's ticks and the trajectories it took, each with its wall time (s). */
function trace() {
  let text = '';
  try {
    text = readFileSync(join(work.path, 'trace.jsonl'), 'utf8');
  } catch {
    // not written yet: the node opens it as it starts
  }
  const lines = text
    .split('\n')
    .slice(0, -1) // the last may be half written
    .map((l) => JSON.parse(l) as So101TraceLine);
  return {
    ticks: lines.filter((l) => l.qpos).map((l) => ({ t: l.t, qpos: l.qpos! })),
    commands: lines
      .filter((l) => l.command === TRAJECTORY)
      .map((l) => ({ t: l.t, positions: l.points![0]!.positions })),
  };
}

/** `waiting`, its failure told with what the shells wrote. */
async function told(waiting: Promise<void>, ...from: WalkthroughShell[]): Promise<void> {
  try {
    await waiting;
  } catch (error) {
    const output = from.map((s) => `${s.out.stdout.slice(-3000)}\n${s.out.stderr.slice(-3000)}`).join('\n---\n');
    throw new Error(`${errorText(error)}\n${output}`);
  }
}

const distance = (a: number[], b: number[]) => Math.max(...a.map((v, j) => Math.abs(v - b[j]!)));

describe('docs/arm.md, ACT on the SO-101 arm', () => {
  it(
    "records the expert's episodes, exports and loads them, and ACT exported from them drives the arm behind the frame",
    { timeout: 600_000 },
    async () => {
      needFfmpeg();
      const peer = so101Peer();
      lerobotPython();
      env = { ...peer.env(DOMAIN), HF_HUB_OFFLINE: '1' };
      const [, record, arm, split, exported, loaded, act, drive, operate] = blocks;
      expect(blocks).toHaveLength(9);
      const ports = 'api: {port: 0}\nfoxglove: {port: 0}\n';

      // 1. The recording daemon, then the arm with its expert; four episodes, the split closed, the daemon stopped.
      const recordRun = 'auraison-edge run --config record.yaml';
      const wrote = await run(beforeRun(record!, recordRun));
      expect(wrote.code, wrote.stderr).toBe(0);
      appendFileSync(join(work.path, 'record.yaml'), ports);
      const recorder = start(recordRun);
      await waitForValue(
        async () => (await run('auraison-edge status --config record.yaml')).code === 0,
        `the recording daemon to run\n${recorder.out.stderr}`,
        120_000,
      );
      const node = start(arm!);
      const episodes = () => events(node.out.stdout).filter((e) => e.event === 'episode');
      await told(
        waitFor(() => episodes().length >= 4, 'four expert episodes', 180_000),
        node,
        recorder,
      );
      expect(episodes().every((e) => e.success)).toBe(true);
      const closed = await run(split!);
      expect(closed.code, closed.stderr).toBe(0);
      recorder.kill('SIGINT');
      expect(await recorder.ended).toBe(0);

      // 2. Export and inspect; 3. LeRobot loads it and decodes a frame.
      const dataset = await run(`${exported!}${loaded!}`);
      expect(dataset.code, dataset.stderr).toBe(0);
      const [, count, frames] = /LeRobot v3\.0, (\d+) episodes, (\d+) frames at 15 fps/.exec(dataset.stdout) ?? [];
      // the first episode may have begun before the recording did, the last may still run: three whole ones at least
      expect(Number(count), dataset.stdout).toBeGreaterThanOrEqual(3);
      expect(dataset.stdout).toMatch(/^ {2}observation\.images\.front +decoded: \d+ frames/m);
      expect(dataset.stdout).toContain(`\n${count} ${frames} 15 torch.Size([3, 72, 96])\n`);
      const info = JSON.parse(readFileSync(join(work.path, 'ds', 'meta', 'info.json'), 'utf8')) as {
        features: Record<string, { names: string[] | null }>;
      };
      expect(info.features['observation.state']!.names).toEqual(SO101_JOINTS);
      expect(info.features.action!.names).toEqual(SO101_JOINTS);

      // 4. ACT sized by the dataset, as ONNX.
      const exportedAct = await run(act!);
      expect(exportedAct.code, exportedAct.stderr).toBe(0);
      const actReport = JSON.parse(exportedAct.stdout.trim().split('\n').at(-1)!) as {
        outputs: { shape: number[] }[];
        export_s: number;
      };
      expect(actReport.outputs[0]!.shape).toEqual([1, 20, 6]);

      // 5. The page's arm.yaml in a daemon: its first trajectory ends the expert's drive, and the policy moves the arm.
      const driveRun = 'auraison-edge run --config arm.yaml';
      const written = await run(beforeRun(drive!, driveRun));
      expect(written.code, written.stderr).toBe(0);
      appendFileSync(join(work.path, 'arm.yaml'), ports);
      const daemon = start(driveRun);
      const ready = events(node.out.stdout).find((e) => e.event === 'ready') as So101Event & { limits: number[][] };
      await waitFor(
        () => events(node.out.stdout).some((e) => e.event === 'expert_stopped'),
        `the loop's first trajectory reaching the arm\n${daemon.out.stderr}`,
        120_000,
      );
      await waitFor(() => trace().commands.length >= 60, `the loop's trajectories\n${daemon.out.stderr}`, 60_000);
      const driven = trace();
      const first = driven.commands[0]!;
      const before = driven.ticks.findLast((t) => t.t <= first.t)!;
      const moved = Math.max(...driven.ticks.filter((t) => t.t > first.t).map((t) => distance(t.qpos, before.qpos)));
      expect(moved).toBeGreaterThan(0.05);

      // 6. The third shell: status, the stop (the arm held where it was measured), the release (still held), the start.
      const [status, stop, release, startLoop] = operate!.split('\n').filter((l) => l.trim() !== '');
      const shown = await run(status!);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(/^ {2}act +\d+/m);
      const stopAsked = Date.now() / 1000;
      const stopped = await run(stop!);
      expect(stopped.code, stopped.stderr).toBe(0);
      const atStop = trace().commands.length;
      await waitFor(() => trace().commands.length >= atStop + 12, 'twelve trajectories after the stop');
      // the first two may have left before the latch did
      const held = trace().commands.slice(atStop + 2);
      const hold = held[0]!.positions;
      expect(held.every((c) => distance(c.positions, hold) === 0)).toBe(true);
      // the hold is a position the arm was measured at (float32 in the loop): as the stop came, or as a hold the loop
      // was already in began (a stale camera's), which the stop keeps
      const earlier = trace().ticks.filter((t) => t.t <= held[0]!.t);
      const measuredAt = earlier.findLast((t) => distance(t.qpos, hold) < 1e-6);
      const nearest = Math.min(...earlier.map((t) => distance(t.qpos, hold)));
      expect(
        measuredAt,
        `hold ${JSON.stringify(hold)}: no measured position, the nearest ${nearest} rad`,
      ).toBeDefined();
      await waitFor(() => distance(trace().ticks.at(-1)!.qpos, hold) < SETTLED, 'the arm settled at the hold');

      const released = await run(release!);
      expect(released.code, released.stderr).toBe(0);
      const atRelease = trace().commands.length;
      await waitFor(() => trace().commands.length >= atRelease + 10, 'ten trajectories after the release');
      // still held where the arm is (the same hold, or one measured again at the release, where it settled)
      expect(
        trace()
          .commands.slice(atRelease)
          .filter((c) => distance(c.positions, hold) >= SETTLED),
      ).toEqual([]);
      const started = await run(startLoop!);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stdout).toBe('loop "act" started: its policy drives\n');
      const atStart = trace().commands.length;
      await waitFor(
        () =>
          trace()
            .commands.slice(atStart)
            .some((c) => distance(c.positions, hold) >= SETTLED),
        'the policy driving again once started',
      );

      // Every trajectory the loop sent, the policy's and the holds, within the URDF's limits (the node's, from it).
      const { commands, ticks } = trace();
      for (const c of commands)
        c.positions.forEach((p, j) => {
          expect(p).toBeGreaterThanOrEqual(ready.limits[j]![0]! - PAST_LIMIT);
          expect(p).toBeLessThanOrEqual(ready.limits[j]![1]! + PAST_LIMIT);
        });
      const policy = commands.filter((c) => c.t < stopAsked);
      console.info(
        `arm walkthrough: ${count} episodes, ${frames} frames; ACT exported in ${actReport.export_s} s; ` +
          `${policy.length} trajectories at ${((policy.length - 1) / (policy.at(-1)!.t - policy[0]!.t)).toFixed(1)} Hz ` +
          `before the stop; the arm moved up to ${moved.toFixed(3)} rad from where the loop took it; ` +
          `the stop's hold measured ${(measuredAt!.t - stopAsked).toFixed(3)} s from the stop's request; ` +
          `${ticks.length} simulator ticks traced`,
      );

      daemon.kill('SIGINT');
      expect(await daemon.ended).toBe(0);
      node.kill('SIGINT');
      await node.ended;
    },
  );
});
