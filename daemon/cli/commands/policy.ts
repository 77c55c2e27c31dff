import { createWriteStream, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, type CommandIO, numberOption, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { errorText } from '../../util/index.ts';
import { resolveConfig } from '../config-option.ts';

const HELP = `Usage: auraison-edge policy inspect MODEL [--json]
       auraison-edge policy replay MODEL DATASET [options]

inspect   Prints an ONNX model's inputs and outputs (names, element types, shapes; symbolic dimensions by
          name), its opsets, its metadata_props and its external weight files. The model is read with
          onnx-proto; it is not run.

replay    Runs a LeRobot dataset's recorded observations through a policy offline, episode by episode
          (recurrent state reset at each), and reports the error of its actions against the recorded
          ones: MAE per action element, MAE, RMSE, the largest error, and the same for an all-zero policy.
          A NULL or ragged row is an error naming its episode and frame; so is a policy action that is not
          finite, an episode in --episodes that the dataset lacks, and an episode whose frames in the data
          are not the length its metadata declares.
          MODEL is an .onnx file, or with --config the name of a policy in the config's policies (its
          manifest's normalization then applies). DATASET is a v2.1 or v3.0 dataset directory. A model
          image input ([1, 3, H, W] or [1, H, W, 3]) is fed from a video feature (--input
          observation.images.front=observation.images.front), each frame decoded with ffmpeg and resized to
          the input as a control loop would.

Options (replay):
  --input NAME=FEATURE   feed model input NAME from dataset feature FEATURE (repeatable; default: the
                         model's only input from observation.state)
  --output NAME          the model output holding the action (default: the first)
  --action FEATURE       the recorded action feature (default: action)
  --episodes LIST        episodes to replay, e.g. 0,1,5 (default: all)
  --max-frames N         the most frames the episodes may hold (default: 1000000); counted, with each
                         episode's frames held to the length its metadata declares, before any is read
  --normalize MODE       mean_std or min_max: normalize inputs and unnormalize actions with the dataset's
                         own statistics, as a LeRobot-trained policy expects (default: none)
  --config FILE          the daemon config, to name a policy instead of a model file
  --outputs FILE         write each frame's whole action output (a chunk: K x D) as JSON lines
                         {"episode", "frame", "shape", "data"}
  --json                 print one JSON object

Exit codes: 0 ok, 1 the model or dataset can't be read, 2 bad usage.
`;

export const command: Command = {
  name: 'policy',
  summary: 'Inspect an ONNX policy, or replay a LeRobot dataset through it',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'inspect') return inspect(rest, io);
    if (sub === 'replay') return replay(rest, io);
    throw new UsageError(
      sub === undefined ? 'missing subcommand: inspect or replay' : `unknown subcommand "${sub}" (inspect, replay)`,
    );
  },
};

async function inspect(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { json: { type: 'boolean' } },
    { min: 1, max: 1, names: 'MODEL' },
  );
  const { readOnnxModelInfo, formatOnnxModelInfo, OnnxModelError } = await (
    await import('../../components/index.ts')
  ).loadOnnxModelFile();
  try {
    const info = readOnnxModelInfo(resolve(io.cwd, positionals[0]!));
    io.stdout(values.json ? `${JSON.stringify(info)}\n` : formatOnnxModelInfo(info));
    return 0;
  } catch (error) {
    if (!(error instanceof OnnxModelError)) throw error;
    io.stderr(`auraison-edge policy inspect: ${error.message}\n`);
    return 1;
  }
}

async function replay(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      input: { type: 'string', multiple: true },
      output: { type: 'string' },
      action: { type: 'string' },
      episodes: { type: 'string' },
      'max-frames': { type: 'string' },
      normalize: { type: 'string' },
      config: { type: 'string' },
      outputs: { type: 'string' },
      json: { type: 'boolean' },
    },
    { min: 2, max: 2, names: 'MODEL DATASET' },
  );
  const [model, datasetArg] = positionals as [string, string];
  const inputs = values.input?.length
    ? Object.fromEntries(
        values.input.map((pair) => {
          const [name, feature] = pair.split('=');
          if (!name || !feature) throw new UsageError(`--input: expected NAME=FEATURE, got ${JSON.stringify(pair)}`);
          return [name, feature];
        }),
      )
    : undefined;
  const episodes = values.episodes?.split(',').map((e) => numberOption('episodes', e, { min: 0, integer: true })!);
  const maxFrames = numberOption('max-frames', values['max-frames'], { min: 1, integer: true });
  if (values.normalize !== undefined && values.normalize !== 'mean_std' && values.normalize !== 'min_max') {
    throw new UsageError(`--normalize: expected mean_std or min_max, got ${JSON.stringify(values.normalize)}`);
  }
  const modelPath = resolve(io.cwd, model);
  const isFile = existsSync(modelPath) && statSync(modelPath).isFile();
  let name = model.replace(/^.*\//, '').replace(/\.onnx$/, '');
  const { Value } = await import('typebox/value');
  const { PolicyConfig } = await import('../../config/index.ts');
  let settings;
  if (isFile) {
    settings = Value.Default(PolicyConfig, { model: modelPath }) as import('../../config/index.ts').PolicySettings;
  } else {
    const { config } = resolveConfig(values.config, io.env);
    const found = config.policies[model];
    if (!found) {
      throw new UsageError(
        `${model} is neither a model file nor a policy in the config (policies: ${Object.keys(config.policies).join(', ') || 'none'})`,
      );
    }
    name = model;
    if (found.model === undefined)
      throw new UsageError(`policy ${model} is remote (policies.${model}.remote): replay runs a model file here`);
    settings = { ...found, model: resolve(io.cwd, found.model) };
  }
  const { replayPolicy } = await (await import('../../components/index.ts')).loadLeRobot();
  const outputs = values.outputs === undefined ? undefined : createWriteStream(resolve(io.cwd, values.outputs));
  try {
    const report = await replayPolicy({
      onOutput: outputs
        ? (episode, frame, out) =>
            void outputs.write(`${JSON.stringify({ episode, frame, shape: out.shape, data: Array.from(out.data) })}\n`)
        : undefined,
      name,
      settings,
      dataset: resolve(io.cwd, datasetArg),
      inputs,
      output: values.output,
      actionFeature: values.action,
      episodes,
      maxFrames,
      normalize: values.normalize as 'mean_std' | 'min_max' | undefined,
    });
    if (values.json) {
      io.stdout(`${JSON.stringify(report)}\n`);
      return 0;
    }
    const f = (n: number) => n.toPrecision(4);
    io.stdout(
      [
        `policy     ${report.policy} (${report.model})`,
        `dataset    ${report.dataset}: ${report.episodes} episodes, ${report.frames} frames`,
        `mapping    ${Object.entries(report.inputs)
          .map(([i, feat]) => `${i} <- ${feat}`)
          .join(', ')}; ${report.output} vs ${report.actionFeature}`,
        `error      MAE ${f(report.mae)}, RMSE ${f(report.rmse)}, max |err| ${f(report.maxAbsError)}`,
        `zero policy MAE ${f(report.zeroBaseline.mae)}, RMSE ${f(report.zeroBaseline.rmse)}`,
        `MAE per action element: ${report.maePerDim.map(f).join(' ')}`,
        `inference  ${report.inferenceUsMean.toFixed(0)} us per frame (mean)`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    io.stderr(`auraison-edge policy replay: ${errorText(error)}\n`);
    return 1;
  } finally {
    if (outputs) await new Promise<void>((done) => outputs.end(done));
  }
}
