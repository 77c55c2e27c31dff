import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test/helpers/cli.ts';
import { so101Peer } from '../test/peers/arm.ts';
import { lerobotPython } from '../test/peers/index.ts';
import {
  cameraSize,
  chunkParity,
  evaluateDaemon,
  evaluateTorch,
  exportCheckpoint,
  serveConfig,
  type Evaluation,
} from '../test/arm/arm-task.ts';
import { skippedResult, type BenchResult } from './bench.ts';

// The flywheel's figure (docs/arm.md): an ACT that LeRobot's trainer made from what the daemon recorded, judged on the
// simulated SO-101's pick-and-place on seeds it was not trained on (the package's own success test). Ours: the daemon
// serving the checkpoint's ONNX export in its loop, behind the frame. Baseline: the same checkpoint in PyTorch
// (LeRobot's select_action) driving the same simulated arm on the same seeds. Also the chunks of both on recorded
// frames, the loop's missed deadlines and its tick latency p99 (the inference runs inline in a tick). A checkpoint
// that takes the camera gets the arm's camera at its size (the arm renders it for both); one that takes the block's
// pose gets /block/state.
//   ARM_TASK_CHECKPOINT  a lerobot-train checkpoint (.../checkpoints/last/pretrained_model); without it, skipped
//   ARM_TASK_DATASET     the dataset it was trained on, for the chunks' comparison (optional)
//   ARM_TASK_SEEDS       FIRST-LAST, the unseen seeds (default 1000-1029; the recording's are 0 and up)
//   ARM_TASK_DOMAIN      the ROS 2 domain (default 96), another for two checkpoints judged at once
//   ARM_TASK_ENSEMBLE    ACT's temporal ensembling coefficient in both (default 0.01, docs/arm.md's serve.yaml);
//                        `off` queues n_action_steps of each chunk instead

const CHECKPOINT = process.env.ARM_TASK_CHECKPOINT;
const DATASET = process.env.ARM_TASK_DATASET;
const [FIRST, LAST] = (process.env.ARM_TASK_SEEDS ?? '1000-1029').split('-').map(Number) as [number, number];
const SEEDS = Array.from({ length: LAST - FIRST + 1 }, (_, i) => FIRST + i);
/** Control steps (0.1 s) an episode has: the expert takes about 45. */
const EPISODE_STEPS = 150;
const RATE_HZ = 15;
// A domain of its own, past the tests' (test/arm's walkthrough takes 94).
const DOMAIN = Number(process.env.ARM_TASK_DOMAIN ?? 96);
const ENSEMBLE = process.env.ARM_TASK_ENSEMBLE === 'off' ? undefined : Number(process.env.ARM_TASK_ENSEMBLE ?? 0.01);

const points = (e: Evaluation) => e.success_rate * 100;
const meanTime = (e: Evaluation) => {
  const times = e.results.flatMap((r) => (r.time_s === null ? [] : [r.time_s]));
  return times.length ? times.reduce((a, b) => a + b, 0) / times.length : NaN;
};

export async function run(): Promise<BenchResult[]> {
  const name = 'arm task, ACT trained on the daemon recording';
  let peer;
  try {
    peer = so101Peer();
    lerobotPython();
  } catch (error) {
    return skippedResult(name, '%', String(error));
  }
  if (!CHECKPOINT || !existsSync(join(CHECKPOINT, 'config.json')))
    return skippedResult(
      name,
      '%',
      'no checkpoint: train one as docs/arm.md says, then ARM_TASK_CHECKPOINT=<its pretrained_model folder> npm run bench -- arm-task',
    );
  const work = tempDir('arm-task-');
  try {
    const env = { ...peer.env(DOMAIN), HF_HUB_OFFLINE: '1' };
    const exported = await exportCheckpoint(CHECKPOINT, join(work.path, 'act'));
    const config = serveConfig(join(work.path, 'act'), exported, RATE_HZ, ENSEMBLE);
    const camera = cameraSize(exported);
    const options = {
      peer,
      env,
      seeds: SEEDS,
      episodeSteps: EPISODE_STEPS,
      timeoutMs: SEEDS.length * 40_000,
      rateHz: RATE_HZ,
      camera,
      temporalEnsemble: ENSEMBLE,
    };
    const daemon = await evaluateDaemon(work.path, config, options);
    const torch = await evaluateTorch(CHECKPOINT, options);
    const inputs = exported.inputs.map((i) => i.name);
    const parity = DATASET ? await chunkParity(work.path, CHECKPOINT, DATASET, [0, 1], env, inputs) : undefined;
    const seeds = `seeds ${FIRST}-${LAST}`;
    const policy =
      (camera ? `the camera policy (${camera.width}x${camera.height})` : "the block's-pose policy") +
      (ENSEMBLE === undefined ? `, ${exported.n_action_steps} actions a chunk` : `, temporal ensembling ${ENSEMBLE}`);
    const results: BenchResult[] = [
      {
        name: `${name}: success rate, daemon vs PyTorch, ${policy}, ${seeds}`,
        ours: points(daemon),
        baseline: { name: 'the checkpoint in PyTorch', value: points(torch) },
        unit: '%',
        better: 'higher',
        goal: 'within 5 points of PyTorch',
        met: Math.abs(points(daemon) - points(torch)) <= 5,
        notes: [
          `inputs ${inputs.join(', ')}; daemon ${daemon.successes}/${daemon.episodes}, PyTorch ` +
            `${torch.successes}/${torch.episodes}; failed seeds: daemon ${failed(daemon)}, PyTorch ${failed(torch)}`,
        ],
      },
      {
        name: `${name}: time to success (simulated), mean, ${seeds}`,
        ours: meanTime(daemon),
        baseline: { name: 'PyTorch', value: meanTime(torch) },
        unit: 's',
        better: 'lower',
      },
      {
        name: `${name}: the loop's missed deadlines at ${RATE_HZ} Hz`,
        ours: daemon.loop?.missed_deadlines ?? NaN,
        unit: 'ticks',
        better: 'lower',
        notes: [
          `of ${daemon.loop?.ticks} ticks; ${daemon.loop?.clamped_commands} commands clamped by the frame; the ` +
            `clamps logged (once a second at most), by joint and limit: ${JSON.stringify(daemon.clamps ?? {})}`,
        ],
      },
      {
        name: `${name}: inference p99 (the daemon's tick, inference inline; PyTorch's select_action)`,
        ours: daemon.loop?.latency_p99_ms ?? NaN,
        baseline: { name: 'PyTorch select_action', value: torch.inference_ms_p99 ?? NaN },
        unit: 'ms',
        better: 'lower',
      },
    ];
    if (!camera)
      results.push({
        name: `${name}: success rate, ${policy}, ${seeds}`,
        ours: points(daemon),
        unit: '%',
        better: 'higher',
        goal: '>= 80%',
        met: points(daemon) >= 80,
      });
    if (parity)
      results.push({
        name: `${name}: chunks, daemon vs LeRobot, ${parity.frames} recorded frames`,
        ours: parity.maxAbsDiff,
        unit: 'max abs diff',
        better: 'lower',
        goal: '<= 1e-4',
        met: parity.maxAbsDiff <= 1e-4,
      });
    return results;
  } finally {
    work.cleanup();
  }
}

const failed = (e: Evaluation) =>
  e.results
    .filter((r) => !r.success)
    .map((r) => r.seed)
    .join(',') || 'none';
