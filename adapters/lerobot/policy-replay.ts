import type { NormalizationSettings, PolicySettings } from '../../daemon/config/index.ts';
import { readFrames } from './dataset/dataset-frames.ts';
import { DEFAULT_MAX_FRAMES } from './dataset/dataset-limits.ts';
import { readDataset } from './dataset/dataset-reader.ts';
import { DatasetError, type FeatureStats } from './dataset/dataset-types.ts';
import { modelFile, readOnnxModelInfo, type TensorInfo } from '../../daemon/system1/index.ts';
import { PolicyInputError, PolicyRunner, type PolicyInputs } from '../../daemon/system1/index.ts';
import { cameraFeeds, withCameraInputs, type CameraFeed } from './replay-cameras.ts';
import { checkMapping, isVideo } from './replay-mapping.ts';
import { replayPlan } from './replay-plan.ts';
import { errorText } from '../../daemon/util/index.ts';

/**
 * How to go on from an input the dataset holds as not finite: a LaserScan's +inf (REP 117) is what the robot
 * published, and a control loop feeds it through its source's `clip`, which a bare .onnx has none of.
 */
const NOT_FINITE_INPUT =
  "The dataset holds the value as recorded (a LaserScan's +inf is nothing in range), and the policy's control loop " +
  "would have bounded it with its source's `clip`: replay the policy by its name with --config FILE, whose " +
  'policies.<name>.inputs.<input>.sources[0].clip bounds it (sim/turtlebot-maze/policy/avoid.yaml clips the scan to ' +
  '[0, 3.5] m), so each frame is fed as the loop fed it';

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
  /** The most frames to read (default DEFAULT_MAX_FRAMES): counted before any is read. */
  maxFrames?: number;
  /** Normalize inputs and unnormalize the action with the dataset's own statistics (LeRobot-trained policies). */
  normalize?: 'mean_std' | 'min_max';
  /** Called with each frame's whole output (a chunk: K x D, raw), in episode order. */
  onOutput?: (episode: number, frame: number, output: { data: Float32Array; shape: number[] }) => void;
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

const statsSettings = (
  mode: 'mean_std' | 'min_max',
  s: FeatureStats | undefined,
  feature: string,
): NormalizationSettings => {
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
function datasetStats(
  mode: 'mean_std' | 'min_max',
  stats: FeatureStats | undefined,
  feature: string,
  tensor: string,
  dim: number | undefined,
  fix: string,
): NormalizationSettings {
  const settings = statsSettings(mode, stats, feature);
  const n = (mode === 'mean_std' ? settings.mean : settings.min)?.length;
  if (dim !== undefined && n !== undefined && n !== 1 && n !== dim) {
    throw new DatasetError(
      `--normalize ${mode}: the dataset's ${feature} statistics have ${n} values, but ${tensor} has ${dim} per step; ${fix}, or replay without --normalize`,
    );
  }
  return settings;
}

/**
 * Runs a dataset's recorded observations through a policy offline, frame by frame in episode order
 * (recurrent state reset at each episode), and compares the first action of each output with the
 * recorded action of that frame.
 */
export async function replayPolicy(options: ReplayOptions): Promise<ReplayReport> {
  const { name, dataset, episodes, normalize, actionFeature = 'action', maxFrames = DEFAULT_MAX_FRAMES } = options;
  const { summary, data } = await readDataset(dataset);
  const model = readOnnxModelInfo(modelFile(name, options.settings));
  const { inputs, output } = modelInputsAndOutput(model, options);
  const videos = Object.entries(inputs).filter(([, feature]) => isVideo(summary.features[feature]));
  const withImages = withCameraInputs(options.settings, model, videos, options.inputs !== undefined);
  // A LeRobot-trained policy expects what its dataset's statistics make of raw values.
  const settings = normalize
    ? normalizedSettings(withImages, normalize, summary, model, inputs, output, actionFeature)
    : withImages;
  const active = await PolicyRunner.open(name, settings);
  try {
    const images = new Map(active.spec.inputs.filter((i) => i.image).map((i) => [i.name, i.image!]));
    checkMapping(summary.features, {
      inputs,
      explicit: options.inputs !== undefined,
      names: model.inputs.map((i) => i.name),
      fed: active.callerInputs,
      images: new Set(images.keys()),
      output: { name: output, dim: perStep(model.outputs.find((o) => o.name === output)) },
      actionFeature,
    });
    const numbers = Object.values(inputs).filter((feature) => !isVideo(summary.features[feature]));
    const plan = replayPlan({ dataset, summary, data, episodes, maxFrames });
    const read = [...new Set([...numbers, actionFeature])];
    const valuesPerFrame = Object.fromEntries(
      read.map((f) => [f, (summary.features[f]?.shape ?? [1]).reduce((a, b) => a * b, 1)]),
    );
    const frames = await readFrames(dataset, read, { ...plan, valuesPerFrame });
    applySourceTransforms(settings, frames, inputs);
    const cameras =
      videos.length > 0
        ? await cameraFeeds(
            dataset,
            videos.map(([input, feature]) => ({ input, feature, spec: images.get(input)! })),
          )
        : [];
    const measured = await compareActions(active, frames, inputs, output, actionFeature, cameras, options.onOutput);
    const { n, dim, absSum, sq } = measured;
    return {
      policy: name,
      model: modelFile(name, settings),
      dataset,
      episodes: new Set(frames.episodeIndex).size,
      frames: n,
      inputs,
      output,
      actionFeature,
      maePerDim: absSum.map((a) => a / n),
      mae: absSum.reduce((a, b) => a + b, 0) / (n * dim),
      rmse: Math.sqrt(sq / (n * dim)),
      maxAbsError: measured.maxAbs,
      zeroBaseline: { mae: measured.zeroAbs / (n * dim), rmse: Math.sqrt(measured.zeroSq / (n * dim)) },
      inferenceUsMean: (measured.inferenceMs * 1000) / n,
    };
  } finally {
    await active.close();
  }
}

type ModelInfo = ReturnType<typeof readOnnxModelInfo>;
type DatasetSummary = Awaited<ReturnType<typeof readDataset>>['summary'];
type Frames = Awaited<ReturnType<typeof readFrames>>;

/**
 * Which dataset feature feeds each model input (given, or the one input from observation.state), and the output
 * compared.
 */
function modelInputsAndOutput(
  model: ModelInfo,
  options: ReplayOptions,
): { inputs: Record<string, string>; output: string } {
  const inputs =
    options.inputs ?? (model.inputs.length === 1 ? { [model.inputs[0]!.name]: 'observation.state' } : undefined);
  if (!inputs)
    throw new DatasetError(
      `the model has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')}); map each to a dataset feature`,
    );
  if (model.outputs.length === 0) throw new DatasetError(`${options.settings.model} has no outputs`);
  const output = options.output ?? model.outputs[0]!.name;
  if (!model.outputs.some((o) => o.name === output))
    throw new DatasetError(
      `the model has no output "${output}" (outputs: ${model.outputs.map((o) => o.name).join(', ')})`,
    );
  return { inputs, output };
}

/**
 * The policy's settings with the mapped inputs normalized, and the output unnormalized, by the dataset's
 * statistics. Only the mapped inputs change: the manifest's other inputs (a recurrent one) stay as configured.
 */
function normalizedSettings(
  settings: ReplayOptions['settings'],
  normalize: NonNullable<ReplayOptions['normalize']>,
  summary: DatasetSummary,
  model: ModelInfo,
  inputs: Record<string, string>,
  output: string,
  actionFeature: string,
): ReplayOptions['settings'] {
  return {
    ...settings,
    inputs: {
      ...settings.inputs,
      ...Object.fromEntries(
        Object.entries(inputs).map(([input, feature]) => {
          const image = settings.inputs[input]?.image;
          if (image) {
            // An image is normalized per channel: the dataset's image statistics are [3][1][1].
            const stats = datasetStats(
              normalize,
              summary.stats[feature],
              feature,
              `model input "${input}"`,
              3,
              'map it to an RGB video',
            );
            return [input, { sources: [], image, normalize: stats }];
          }
          const dim = perStep(model.inputs.find((i) => i.name === input));
          const stats = datasetStats(
            normalize,
            summary.stats[feature],
            feature,
            `model input "${input}"`,
            dim,
            `map it to a feature of that size with --input ${input}=FEATURE`,
          );
          return [input, { sources: [], normalize: stats }];
        }),
      ),
    },
    outputs: {
      ...settings.outputs,
      [output]: {
        ...settings.outputs[output],
        unnormalize: datasetStats(
          normalize,
          summary.stats[actionFeature],
          actionFeature,
          `model output "${output}"`,
          perStep(model.outputs.find((o) => o.name === output)),
          'name the action feature of that size with --action FEATURE',
        ),
      },
    },
  };
}

/**
 * Runs each frame's observation through the policy, in episode order (recurrent state reset at each
 * episode), and sums how far its action is from the recorded one, and from zero (the baseline).
 */
async function compareActions(
  active: PolicyRunner,
  frames: Frames,
  inputs: Record<string, string>,
  output: string,
  actionFeature: string,
  cameras: CameraFeed[] = [],
  onOutput?: ReplayOptions['onOutput'],
): Promise<{
  n: number;
  dim: number;
  absSum: number[];
  sq: number;
  maxAbs: number;
  zeroAbs: number;
  zeroSq: number;
  inferenceMs: number;
}> {
  const recorded = frames.columns[actionFeature]!;
  const dim = recorded.at(0).length;
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
    const feed: PolicyInputs = {};
    for (const [input, feature] of Object.entries(inputs)) {
      const column = frames.columns[feature];
      if (column) feed[input] = column.at(i);
    }
    for (const camera of cameras) feed[camera.input] = await camera.at(episode, frames.frameIndex[i]!);
    const at = `episode ${frames.episodeIndex[i]} frame ${frames.frameIndex[i]}`;
    const started = performance.now();
    let out;
    try {
      out = (await active.run(feed))[output]!;
    } catch (error) {
      const hint = error instanceof PolicyInputError && error.code === 'not_finite' ? `. ${NOT_FINITE_INPUT}` : '';
      throw new DatasetError(`${at}: ${errorText(error)}${hint}`);
    }
    inferenceMs += performance.now() - started;
    onOutput?.(episode, frames.frameIndex[i]!, { data: out.data, shape: out.shape });
    if (out.dim !== dim)
      throw new DatasetError(
        `output ${output} has ${out.dim} elements per action, the dataset's ${actionFeature} ${dim}`,
      );
    const truth = recorded.at(i);
    if (truth.length !== dim)
      throw new DatasetError(`${at}: ${actionFeature} has ${truth.length} elements, the first frame's ${dim}`);
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
    throw new DatasetError(
      `the policy's ${output} is not finite in ${nonFinite.frames} of ${n} frames (first: ${nonFinite.first}); the error can't be measured, and a control loop would send the safe action instead`,
    );
  }
  return { n, dim, absSum, sq, maxAbs, zeroAbs, zeroSq, inferenceMs };
}

/**
 * What a control loop does to a message before its policy sees it, done to the recorded feature: a configured input
 * read from one source gets that source's `scale`, `offset` and `clip` (field-extractor.ts), so the sim's avoid
 * policy, which clips a LaserScan's +inf ranges to 3.5 m, replays on the scan it was fed. An input of several
 * sources, or none of these settings, is fed as recorded.
 */
function applySourceTransforms(settings: PolicySettings, frames: Frames, inputs: Record<string, string>): void {
  const features = Object.values(inputs);
  for (const [input, feature] of Object.entries(inputs)) {
    const sources = settings.inputs?.[input]?.sources ?? [];
    // A feature two inputs read is left as recorded: each input would want its own transform of it.
    if (sources.length !== 1 || features.indexOf(feature) !== features.lastIndexOf(feature)) continue;
    const { scale = 1, offset = 0, clip } = sources[0]!;
    if (scale === 1 && offset === 0 && !clip) continue;
    const [lo, hi] = clip ?? [-Infinity, Infinity];
    frames.columns[feature]!.transform((x) => {
      const v = x * scale + offset;
      return v < lo ? lo : v > hi ? hi : v; // NaN stays NaN, as in the loop
    });
  }
}
