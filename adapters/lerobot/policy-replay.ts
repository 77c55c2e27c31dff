import type { NormalizationSettings, PolicySettings } from '../../daemon/config/sections/system1.ts';
import { readFrames, readLeRobotDataset } from './dataset/dataset-reader.ts';
import { DatasetError, type FeatureStats } from './dataset/dataset-types.ts';
import { readOnnxModelInfo, type TensorInfo } from './onnx-model-file.ts';
import { PolicyRunner } from './policy-runner.ts';

export interface ReplayOptions {
  /** The policy: a manifest (from config) or a bare model. */
  name: string;
  settings: PolicySettings;
  dataset: string;
  /** Model input name to dataset feature; by default the only input reads observation.state. */
  inputs?: Record<string, string>;
  /** Model output that holds the action; the first output by default. */
  output?: string;
  actionFeature?: string;
  episodes?: number[];
  /** Normalize inputs and unnormalize the action with the dataset's own statistics (LeRobot-trained policies). */
  normalize?: 'mean_std' | 'min_max';
}

export interface ReplayReport {
  policy: string;
  model: string;
  dataset: string;
  episodes: number;
  frames: number;
  inputs: Record<string, string>;
  output: string;
  actionFeature: string;
  /** Mean absolute error per action element. */
  maePerDim: number[];
  mae: number;
  rmse: number;
  maxAbsError: number;
  /** The same figures for a policy that always outputs zeros: a floor the policy should beat. */
  zeroBaseline: { mae: number; rmse: number };
  inferenceUsMean: number;
}

const statsSettings = (mode: 'mean_std' | 'min_max', s: FeatureStats | undefined, feature: string): NormalizationSettings => {
  if (!s) throw new DatasetError(`the dataset has no statistics for ${feature}; replay without --normalize`);
  return { mode, mean: s.mean, std: s.std, min: s.min, max: s.max, epsilon: 1e-8 };
};

/** Elements per step of a model tensor (its last dimension), where the file fixes it. */
const perStep = (t: TensorInfo | undefined): number | undefined => {
  const last = t?.shape[t.shape.length - 1];
  return typeof last === 'number' && last > 0 ? last : undefined;
};

/**
 * The dataset's statistics of `feature` for a tensor of `dim` per step. A size mismatch is said here, in the
 * replay's terms (the dataset feature, the model tensor, the option to change), rather than by the runner,
 * which would name a policies.<name>... config path that the user never wrote.
 */
function datasetStats(mode: 'mean_std' | 'min_max', stats: FeatureStats | undefined, feature: string, tensor: string, dim: number | undefined, fix: string): NormalizationSettings {
  const settings = statsSettings(mode, stats, feature);
  const n = (mode === 'mean_std' ? settings.mean : settings.min)?.length;
  if (dim !== undefined && n !== undefined && n !== 1 && n !== dim) {
    throw new DatasetError(`--normalize ${mode}: the dataset's ${feature} statistics have ${n} values, but ${tensor} has ${dim} per step; ${fix}, or replay without --normalize`);
  }
  return settings;
}

/**
 * Runs a dataset's recorded observations through a policy offline, frame by frame in episode order
 * (recurrent state reset at each episode), and compares the first action of each output with the
 * recorded action of that frame.
 */
export async function replayPolicy(options: ReplayOptions): Promise<ReplayReport> {
  const { name, dataset, episodes, normalize, actionFeature = 'action' } = options;
  const summary = await readLeRobotDataset(dataset);
  const model = readOnnxModelInfo(options.settings.model);
  const inputs = options.inputs ?? (model.inputs.length === 1 ? { [model.inputs[0]!.name]: 'observation.state' } : undefined);
  if (!inputs) throw new DatasetError(`the model has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')}); map each to a dataset feature`);
  if (model.outputs.length === 0) throw new DatasetError(`${options.settings.model} has no outputs`);
  const output = options.output ?? model.outputs[0]!.name;
  if (!model.outputs.some((o) => o.name === output)) throw new DatasetError(`the model has no output "${output}" (outputs: ${model.outputs.map((o) => o.name).join(', ')})`);
  let settings = options.settings;
  if (normalize) {
    // A LeRobot-trained policy expects what its dataset's statistics make of raw values.
    settings = {
      ...settings,
      inputs: Object.fromEntries(
        Object.entries(inputs).map(([input, feature]) => {
          const dim = perStep(model.inputs.find((i) => i.name === input));
          const stats = datasetStats(normalize, summary.stats[feature], feature, `model input "${input}"`, dim, `map it to a feature of that size with --input ${input}=FEATURE`);
          return [input, { sources: [], normalize: stats }];
        }),
      ),
      outputs: {
        ...settings.outputs,
        [output]: {
          ...settings.outputs[output],
          unnormalize: datasetStats(normalize, summary.stats[actionFeature], actionFeature, `model output "${output}"`, perStep(model.outputs.find((o) => o.name === output)), 'name the action feature of that size with --action FEATURE'),
        },
      },
    };
  }
  const active = await PolicyRunner.open(name, settings);
  try {
    const frames = await readFrames(dataset, [...new Set([...Object.values(inputs), actionFeature])], episodes);
    if (frames.episodeIndex.length === 0) throw new DatasetError(`no frames in ${dataset}${episodes ? ` for episodes ${episodes.join(', ')}` : ''}`);
    if (episodes) {
      // Replaying fewer episodes than asked would report an error over other data than the user meant.
      const found = new Set(frames.episodeIndex);
      const missing = [...new Set(episodes)].filter((e) => !found.has(e));
      if (missing.length > 0) {
        const listed = summary.episodes.map((e) => e.episode_index);
        throw new DatasetError(`${dataset} has no frames for episode${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${listed.length ? ` (its metadata lists ${listed.length} episodes, ${listed[0]}..${listed[listed.length - 1]})` : ''}`);
      }
    }
    const recorded = frames.columns[actionFeature]!;
    const dim = recorded[0]!.length;
    let nonFinite: { frames: number; first: string } | undefined;
    const absSum = new Array<number>(dim).fill(0);
    let sq = 0;
    let maxAbs = 0;
    let zeroAbs = 0;
    let zeroSq = 0;
    let inferenceMs = 0;
    let episode = -1;
    for (let i = 0; i < frames.episodeIndex.length; i++) {
      if (frames.episodeIndex[i] !== episode) {
        episode = frames.episodeIndex[i]!;
        active.reset();
      }
      const feed: Record<string, Float32Array> = {};
      for (const [input, feature] of Object.entries(inputs)) feed[input] = frames.columns[feature]![i]!;
      const at = `episode ${frames.episodeIndex[i]} frame ${frames.frameIndex[i]}`;
      const started = performance.now();
      let out;
      try {
        out = (await active.run(feed))[output]!;
      } catch (error) {
        throw new DatasetError(`${at}: ${(error as Error).message}`);
      }
      inferenceMs += performance.now() - started;
      if (out.dim !== dim) throw new DatasetError(`output ${output} has ${out.dim} elements per action, the dataset's ${actionFeature} ${dim}`);
      const truth = recorded[i]!;
      if (truth.length !== dim) throw new DatasetError(`${at}: ${actionFeature} has ${truth.length} elements, the first frame's ${dim}`);
      const bad = out.data.subarray(0, dim).findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        nonFinite ??= { frames: 0, first: `${at}, element ${bad} = ${out.data[bad]}` };
        nonFinite.frames++;
      }
      for (let d = 0; d < dim; d++) {
        const err = out.data[d]! - truth[d]!;
        absSum[d]! += Math.abs(err);
        sq += err * err;
        maxAbs = Math.max(maxAbs, Math.abs(err));
        zeroAbs += Math.abs(truth[d]!);
        zeroSq += truth[d]! * truth[d]!;
      }
    }
    const n = frames.episodeIndex.length;
    if (nonFinite) {
      throw new DatasetError(`the policy's ${output} is not finite in ${nonFinite.frames} of ${n} frames (first: ${nonFinite.first}); the error can't be measured, and a control loop would send the safe action instead`);
    }
    return {
      policy: name,
      model: settings.model,
      dataset,
      episodes: new Set(frames.episodeIndex).size,
      frames: n,
      inputs,
      output,
      actionFeature,
      maePerDim: absSum.map((a) => a / n),
      mae: absSum.reduce((a, b) => a + b, 0) / (n * dim),
      rmse: Math.sqrt(sq / (n * dim)),
      maxAbsError: maxAbs,
      zeroBaseline: { mae: zeroAbs / (n * dim), rmse: Math.sqrt(zeroSq / (n * dim)) },
      inferenceUsMean: (inferenceMs * 1000) / n,
    };
  } finally {
    await active.close();
  }
}
