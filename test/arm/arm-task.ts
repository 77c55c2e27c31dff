import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, type CliChild } from '../helpers/cli.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { waitForValue } from '../helpers/wait.ts';
import { lerobotPython, runPeer, PEERS_CACHE } from '../peers/index.ts';
import { So101Node, type So101Evaluated, type So101Peer } from '../peers/arm.ts';

/**
 * The arm's pick-and-place judged on unseen seeds, for a checkpoint LeRobot's trainer wrote: the daemon serving its
 * ONNX export in a control loop behind the frame, and the same checkpoint in PyTorch (LeRobot's own select_action)
 * driving the same simulated arm, each on the same seeds (so101_node.py --evaluate). Used by bench/arm-task.bench.ts
 * and the walkthrough's test.
 */

const SCRIPTS = join(import.meta.dirname, '..', 'peers', 'python');
export const CHECKPOINT_SCRIPT = join(SCRIPTS, 'lerobot_checkpoint.py');
const JOINTS = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper'];

/** LeRobot's Python without ROS 2's packages on its path (the arm's peer env puts Jazzy's Python 3.11 ones there). */
export const lerobotCommand = (...args: string[]) => ['env', '-u', 'PYTHONPATH', lerobotPython(), ...args];

export interface ExportedCheckpoint {
  model: string;
  stats: string;
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[] }[];
  /** Each feature's normalization in the checkpoint's processors (ACT passes the environment state as it is). */
  normalization: Record<string, string>;
  chunk: number;
  n_action_steps: number;
  max_abs_diff: number;
  export_s: number;
}

/** lerobot_checkpoint.py export: the checkpoint's ONNX and its processors' statistics in `out`. */
export async function exportCheckpoint(checkpoint: string, out: string): Promise<ExportedCheckpoint> {
  const [command, ...args] = lerobotCommand(CHECKPOINT_SCRIPT, 'export', out, '--checkpoint', checkpoint);
  const stdout = await runPeer(command!, args);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ExportedCheckpoint;
}

/** The arm's camera, as so101_node.py publishes it and docs/arm.md's export names it. */
export const CAMERA = { topic: '/camera/front/image_raw', feature: 'observation.images.front' };

/** The camera frame's size a checkpoint was trained on ([1, 3, H, W] input), or undefined for a policy without one. */
export function cameraSize(exported: ExportedCheckpoint): { width: number; height: number } | undefined {
  const input = exported.inputs.find((i) => i.name === CAMERA.feature);
  if (!input) return undefined;
  const [, , height, width] = input.shape;
  return { width: width!, height: height! };
}

/**
 * The daemon's config serving an exported checkpoint on the arm (docs/arm.md's serve.yaml): the joints, and the
 * block's state or the camera, as the checkpoint takes them (ACT's processors normalize the joints and the camera, and
 * pass the block's state as it is), each chunk's actions as JointTrajectory points out, at `rateHz`, behind
 * motion.joints' frame; `n_action_steps` of each chunk queued, as the checkpoint says, or with `temporalEnsemble`
 * ACT's temporal ensembling at that coefficient.
 */
export function serveConfig(
  dir: string,
  exported: ExportedCheckpoint,
  rateHz: number,
  temporalEnsemble?: number,
): string {
  const stats = join(dir, 'stats.json');
  const names = exported.inputs.map((i) => i.name);
  const unknown = names.filter((n) => !INPUTS[n]);
  if (unknown.length)
    throw new Error(`the checkpoint takes ${unknown.join(', ')}: the arm gives ${Object.keys(INPUTS)}`);
  const topics = ['/joint_states', '/robot_description', '/evaluation/episode', ...names.map((n) => INPUTS[n]!.topic)];
  const inputs = names.map((n) => `      ${n}:\n${INPUTS[n]!.yaml(stats)}`).join('\n');
  return `ros:
  enabled: true
  rclnodejs: ${join(PEERS_CACHE, 'ros2', 'jazzy', 'node')}
  topics: [${[...new Set(topics)].join(', ')}]
  publish: [/arm_controller/joint_trajectory]
motion:
  joints: {robot_description: /robot_description, max_step: 0.2, limits: {gripper: {max_step: 2.0}}}
policies:
  act:
    model: ${join(dir, 'act.onnx')}
    inputs:
${inputs}
    outputs:
      action:
        unnormalize: {stats: ${stats}, feature: action}
        command:
          topic: /arm_controller/joint_trajectory
          type: trajectory_msgs/msg/JointTrajectory
          joint_names: [${JOINTS.join(', ')}]
control:
  loops:
    act:
      policy: act
      rate_hz: ${rateHz}
      chunking: {inference: inline, ${
        temporalEnsemble === undefined
          ? `threshold: 0, n_action_steps: ${exported.n_action_steps}`
          : `temporal_ensemble_coeff: ${temporalEnsemble}`
      }}
      episodes: /evaluation/episode
log: {level: warn}
api: {port: 0}
foxglove: {port: 0}
`;
}

/** Each input an ACT trained on docs/arm.md's datasets takes: its topic, and its config under `inputs:`. */
const INPUTS: Record<string, { topic: string; yaml: (stats: string) => string }> = {
  'observation.state': {
    topic: '/joint_states',
    yaml: (stats) => `        sources:
          - topic: /joint_states
            joints: [${JOINTS.join(', ')}]
        normalize: {stats: ${stats}, feature: observation.state}`,
  },
  'observation.environment_state': {
    topic: '/block/state',
    yaml: () => `        sources:
          - {topic: /block/state, field: data}`,
  },
  [CAMERA.feature]: {
    topic: CAMERA.topic,
    yaml: (stats) => `        image: {topic: ${CAMERA.topic}}
        normalize: {stats: ${stats}, feature: ${CAMERA.feature}}`,
  },
};

export interface Evaluation extends So101Evaluated {
  /** The daemon's loop: ticks, missed deadlines and tick latency p99 (inference inline in its ticks). */
  loop?: {
    ticks: number;
    missed_deadlines: number;
    latency_p99_ms: number | null;
    clamped_commands: number;
    /** Ticks that sent the safe action for an observation too old (a camera's frames not coming). */
    stale_ticks: number;
    observation_errors: number;
  };
  /**
   * The clamps the daemon logged (a sample: once a second at most), by joint and limit, e.g. `"gripper" lower: 12`.
   */
  clamps?: Record<string, number>;
}

/** The daemon's logged joint-limit violations (its JSON log), counted by joint and limit. */
function clampsLogged(stderr: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of stderr.split('\n')) {
    if (!line.includes('outside motion.joints')) continue;
    let violation: unknown;
    try {
      ({ violation } = JSON.parse(line) as { violation?: unknown });
    } catch {
      continue; // not a JSON line
    }
    if (typeof violation !== 'string') continue;
    const [, joint = '?'] = /^("[^"]*")/.exec(violation) ?? [];
    const limit = / below its lower /.test(violation)
      ? 'lower'
      : / above its upper /.test(violation)
        ? 'upper'
        : /max_step/.test(violation)
          ? 'max_step'
          : 'other';
    const key = `${joint} ${limit}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

interface EvaluationOptions {
  peer: So101Peer;
  env: NodeJS.ProcessEnv;
  seeds: number[];
  episodeSteps: number;
  /** How long all episodes may take (ms). */
  timeoutMs: number;
  /** The camera's frame a policy with a camera takes (cameraSize); without it the arm's camera is off. */
  camera?: { width: number; height: number };
  /** The dataset's rate: PyTorch's observations a second, and the camera's frames. */
  rateHz: number;
  /** ACT's temporal ensembling at this coefficient in PyTorch (as serveConfig's for the daemon). */
  temporalEnsemble?: number;
}

/** The arm's camera as the evaluation needs it: off, or at the policy's size and the dataset's rate. */
const cameraOptions = ({ camera, rateHz }: EvaluationOptions) =>
  camera ? { cameraRate: rateHz, cameraSize: camera } : { cameraRate: 0 };

/** The daemon serving `config` drives the arm through the seeds' episodes. */
export async function evaluateDaemon(dir: string, config: string, options: EvaluationOptions): Promise<Evaluation> {
  const { peer, env, seeds, episodeSteps, timeoutMs } = options;
  const path = join(dir, 'serve.yaml');
  writeFileSync(path, config);
  const node = await So101Node.start(peer, env, { evaluate: seeds, episodeSteps, ...cameraOptions(options) });
  let daemon: CliChild | undefined;
  try {
    daemon = startCli(['run', '--config', path], { cwd: dir, env });
    const evaluated = await evaluatedEvent(node, timeoutMs, () => daemon!.out.stderr);
    const status = await runCli(['status', '--json', '--config', path], { cwd: dir, env });
    const details = (
      JSON.parse(status.stdout) as { status: { components: Record<string, { details?: Record<string, unknown> }> } }
    ).status.components.control?.details as Record<string, Evaluation['loop']> | undefined;
    return { ...evaluated, loop: details?.act, clamps: clampsLogged(daemon.out.stderr) };
  } finally {
    if (daemon) await stopChild(daemon.child, 'SIGINT');
    await node.close();
  }
}

/** The checkpoint in PyTorch (lerobot_checkpoint.py serve) drives the arm through the seeds' episodes. */
export async function evaluateTorch(checkpoint: string, options: EvaluationOptions) {
  const { peer, env, seeds, episodeSteps, timeoutMs, rateHz } = options;
  const node = await So101Node.start(peer, env, {
    evaluate: seeds,
    episodeSteps,
    ...cameraOptions(options),
    policyPipe: lerobotCommand(
      CHECKPOINT_SCRIPT,
      'serve',
      checkpoint,
      ...(options.temporalEnsemble === undefined
        ? []
        : ['--temporal-ensemble-coeff', String(options.temporalEnsemble)]),
    ),
    policyRate: rateHz,
  });
  try {
    return await evaluatedEvent(node, timeoutMs, () => node.output);
  } finally {
    await node.close();
  }
}

async function evaluatedEvent(node: So101Node, timeoutMs: number, told: () => string): Promise<So101Evaluated> {
  return (await waitForValue(
    () => {
      if (node.child.exitCode !== null) throw new Error(`so101_node.py exited: ${node.output}`);
      return node.events.find((e) => e.event === 'evaluated');
    },
    `the evaluation's last episode\n${told().slice(-3000)}`,
    timeoutMs,
  )) as unknown as So101Evaluated;
}

/**
 * The largest difference between the daemon's chunks (`policy replay --outputs` through serve.yaml's policy, its
 * normalization, each of `inputs` fed from the dataset's feature of that name) and LeRobot's (the checkpoint's
 * processors around predict_action_chunk) on the dataset's frames.
 */
export async function chunkParity(
  dir: string,
  checkpoint: string,
  dataset: string,
  episodes: number[],
  env: NodeJS.ProcessEnv,
  inputs: string[],
): Promise<{ frames: number; maxAbsDiff: number }> {
  const ours = join(dir, 'daemon-chunks.jsonl');
  const theirs = join(dir, 'lerobot-chunks.jsonl');
  const list = episodes.join(',');
  const [command, ...args] = lerobotCommand(
    CHECKPOINT_SCRIPT,
    'predict-dataset',
    checkpoint,
    dataset,
    '--episodes',
    list,
    '--out',
    theirs,
  );
  // The two runtimes side by side: each reads the dataset and decodes its frames itself.
  const [replayed] = await Promise.all([
    runCli(
      [
        'policy',
        'replay',
        'act',
        dataset,
        '--config',
        join(dir, 'serve.yaml'),
        ...inputs.flatMap((name) => ['--input', `${name}=${name}`]),
        '--episodes',
        list,
        '--outputs',
        ours,
        '--json',
      ],
      { cwd: dir, env, timeoutMs: 300_000 },
    ),
    runPeer(command!, args),
  ]);
  if (replayed.code !== 0) throw new Error(`policy replay failed: ${replayed.stderr}`);
  const read = (file: string) =>
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { episode: number; frame: number; data?: number[]; chunk?: number[][] });
  const reference = new Map(read(theirs).map((r) => [`${r.episode}/${r.frame}`, r.chunk!.flat()]));
  let maxAbsDiff = 0;
  let frames = 0;
  for (const r of read(ours)) {
    const expected = reference.get(`${r.episode}/${r.frame}`);
    if (!expected) throw new Error(`LeRobot gave no chunk for episode ${r.episode} frame ${r.frame}`);
    r.data!.forEach((v, i) => (maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - expected[i]!))));
    frames++;
  }
  if (frames !== reference.size) throw new Error(`the daemon replayed ${frames} frames, LeRobot ${reference.size}`);
  return { frames, maxAbsDiff };
}
