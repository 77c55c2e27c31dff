// LeRobot's ACT policy as the vision-policy tests' reference (test/peers/python/lerobot_act.py, in the LeRobot venv,
// offline on the CPU): export a random-weight ACT to ONNX with its stats.json, then ask LeRobot itself for the chunk
// (predict), the action its select_action gives step by step (select), and onnxruntime's Python timing (bench).
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEERS_CACHE, lerobotPython, need, runPeer } from '../peers/index.ts';

const SCRIPT = fileURLToPath(new URL('../peers/python/lerobot_act.py', import.meta.url));

export interface ActCamera {
  name: string;
  height: number;
  width: number;
}

export interface ActExportOptions {
  stateDim: number;
  actionDim: number;
  /** In the order of the ONNX inputs after observation.state. */
  cameras: ActCamera[];
  chunk: number;
  /** The actions select_action takes from each chunk before inferring again; the chunk by default. */
  nActionSteps?: number;
  seed?: number;
  /** A few-layer transformer beside ACT's resnet18: ~45 MB and seconds to export, for CI. */
  small?: boolean;
}

export interface ActTensor {
  name: string;
  shape: number[];
}

/** What `lerobot_act.py export` prints. */
export interface ActExport {
  /** DIR/act.onnx: normalized `observation.state` and `observation.images.NAME` in, `action` [1, K, D] out. */
  model: string;
  /** DIR/stats.json, laid out as a LeRobot dataset's meta/stats.json. */
  stats: string;
  inputs: ActTensor[];
  outputs: ActTensor[];
  chunk: number;
  bytes: number;
  export_s: number;
  /** The largest |onnxruntime - PyTorch| over one chunk from a random normalized input. */
  max_abs_diff: number;
}

/** An 8-bit RGB frame, rows packed, channels last (sensor_msgs/Image's rgb8 with step = 3 * width). */
export interface ActFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface ActObservation {
  state: number[];
  /** By camera name. */
  images: Record<string, ActFrame>;
}

/** onnxruntime's Python session run time of act.onnx (`lerobot_act.py bench`). */
export interface ActBench {
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  runs: number;
  threads: number;
  onnxruntime: string;
}

export interface ActPeer {
  python: string;
  script: string;
}

/** A package of the LeRobot venv, where its Python (lib/python3.X) puts it. */
function venvPackage(name: string): string {
  const lib = join(PEERS_CACHE, 'lerobot', 'lib');
  const python = existsSync(lib) ? readdirSync(lib).find((d) => d.startsWith('python')) : undefined;
  return join(lib, python ?? 'python3', 'site-packages', name);
}

/**
 * The LeRobot venv's Python with what the export and the bench need beside LeRobot (onnxscript for torch.onnx.export,
 * onnxruntime); a missing one fails or skips the test as test/peers/missing.ts decides, naming the install command.
 */
export function actPeer(): ActPeer {
  const python = lerobotPython();
  need(venvPackage('onnxscript'), "onnxscript in LeRobot's venv (for torch.onnx.export)", 'lerobot');
  need(venvPackage('onnxruntime'), "onnxruntime in LeRobot's venv", 'lerobot');
  return { python, script: SCRIPT };
}

async function runAct<T>(args: string[]): Promise<T> {
  const { python, script } = actPeer();
  return JSON.parse(await runPeer(python, [script, ...args])) as T;
}

/** Builds a random-weight ACT for these features and exports it to DIR (act.onnx, stats.json, policy/). */
export function exportAct(dir: string, options: ActExportOptions): Promise<ActExport> {
  const { stateDim, actionDim, cameras, chunk, nActionSteps, seed = 0, small = false } = options;
  return runAct<ActExport>([
    'export',
    dir,
    '--state-dim',
    String(stateDim),
    '--action-dim',
    String(actionDim),
    ...cameras.flatMap((c) => ['--camera', `${c.name}:${c.height}x${c.width}`]),
    '--chunk',
    String(chunk),
    ...(nActionSteps === undefined ? [] : ['--n-action-steps', String(nActionSteps)]),
    '--seed',
    String(seed),
    ...(small ? ['--small'] : []),
  ]);
}

/** LeRobot's chunk for each observation, [K][D] raw: its preprocessor, predict_action_chunk, postprocessor. */
export function predictAct(dir: string, observations: ActObservation[]): Promise<number[][][]> {
  return withObservations(dir, observations, (file) => runAct(['predict', dir, '--observations', file]));
}

/**
 * The action LeRobot's select_action gives at each step, over the observations in order after reset(): n_action_steps
 * of each chunk from a queue, or with `temporalEnsembleCoeff`, ACT's temporal ensemble (inference every step).
 */
export function selectAct(
  dir: string,
  observations: ActObservation[],
  temporalEnsembleCoeff?: number,
): Promise<number[][]> {
  const coeff = temporalEnsembleCoeff === undefined ? [] : ['--temporal-ensemble-coeff', String(temporalEnsembleCoeff)];
  return withObservations(dir, observations, (file) => runAct(['select', dir, '--observations', file, ...coeff]));
}

/** onnxruntime's Python timing of DIR/act.onnx, the native baseline of observation-to-chunk. */
export function benchAct(dir: string, runs: number, threads = 1): Promise<ActBench> {
  return runAct<ActBench>(['bench', dir, '--runs', String(runs), '--threads', String(threads)]);
}

/** Writes each frame's raw bytes and the observations' JSON lines in a directory of DIR, removed after `run`. */
async function withObservations<T>(
  dir: string,
  observations: ActObservation[],
  run: (file: string) => Promise<T>,
): Promise<T> {
  const at = mkdtempSync(join(dir, 'observations-'));
  try {
    const lines = observations.map((observation, i) => {
      const images = Object.entries(observation.images).map(([name, frame]) => {
        if (frame.data.length !== frame.width * frame.height * 3)
          throw new Error(
            `observation ${i}, camera ${name}: ${frame.data.length} bytes, not ${frame.width}x${frame.height} rgb8`,
          );
        const path = join(at, `${i}-${name}.rgb`);
        writeFileSync(path, frame.data);
        return [name, { path, width: frame.width, height: frame.height, encoding: 'rgb8' }];
      });
      return JSON.stringify({ state: observation.state, images: Object.fromEntries(images) });
    });
    const file = join(at, 'observations.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    return await run(file);
  } finally {
    rmSync(at, { recursive: true, force: true });
  }
}

/** A LeRobot v3.0 dataset with the cameras as AV1 video, written by LeRobot's own writer (`write-dataset`). */
export function writeActDataset(
  root: string,
  options: { stateDim: number; actionDim: number; cameras: ActCamera[]; episodes?: number; frames?: number },
): Promise<{ root: string; frames: number }> {
  const { stateDim, actionDim, cameras, episodes = 2, frames = 6 } = options;
  return runAct([
    'write-dataset',
    root,
    '--state-dim',
    String(stateDim),
    '--action-dim',
    String(actionDim),
    ...cameras.flatMap((c) => ['--camera', `${c.name}:${c.height}x${c.width}`]),
    '--episodes',
    String(episodes),
    '--frames',
    String(frames),
  ]);
}

/** Sizes an ACT by a LeRobot dataset's features and takes its stats (`export --dataset`); random weights. */
export function exportActFromDataset(dir: string, dataset: string, chunk: number): Promise<ActExport> {
  return runAct<ActExport>(['export', dir, '--dataset', dataset, '--chunk', String(chunk), '--small']);
}

/** LeRobot's chunk for every frame of `dataset`, as its own loader decodes the frames (`predict-dataset`). */
export function predictActDataset(
  dir: string,
  dataset: string,
): Promise<{ episode: number; frame: number; chunk: number[][] }[]> {
  return runAct(['predict-dataset', dir, dataset]);
}
