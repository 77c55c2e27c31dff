import type {
  CommandSettings,
  InputSettings,
  NormalizationSettings,
  PolicySettings,
  SourceSettings,
} from '../config/index.ts';
import type { OnnxModelInfo, TensorInfo } from './onnx-model-file.ts';
import { ImageInputError, resolveImageInput, type ImageInputSpec } from './vision/image-input.ts';

/** One slice of an input tensor, placed: where it starts and how many elements it holds. */
export interface PlacedSource {
  readonly settings: SourceSettings;
  readonly kind: 'topic' | 'constant' | 'previous_output';
  readonly offset: number;
  readonly length: number;
}

export interface InputSpec {
  readonly name: string;
  /** Concrete shape: symbolic dimensions (a batch) are 1. */
  readonly shape: number[];
  readonly size: number;
  readonly recurrent: string | undefined;
  readonly sources: PlacedSource[];
  readonly normalize: NormalizationSettings | undefined;
  readonly dtype: 'float32' | 'uint8';
  /** A camera feeds it (`image:` in the manifest): its frame size, layout and settings. */
  readonly image?: ImageInputSpec;
}

export interface OutputSpec {
  readonly name: string;
  readonly shape: (number | string)[];
  /** Elements of one action (the last dimension). */
  readonly dim: number;
  readonly unnormalize: NormalizationSettings | undefined;
  readonly command: CommandSettings | undefined;
}

/** A policy's manifest checked against its model: every model input fed, every slice placed. */
export interface PolicySpec {
  readonly name: string;
  readonly settings: PolicySettings;
  readonly inputs: InputSpec[];
  readonly outputs: OutputSpec[];
  readonly metadata: Record<string, string>;
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

const concrete = (shape: (number | string)[]): number[] => shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));

/**
 * Resolves a manifest against a model. Errors name the config key (`policies.<name>.inputs.<input>...`) and
 * what the model has, so a wrong manifest fails at start, not in the loop.
 */
export function resolvePolicySpec(name: string, settings: PolicySettings, model: OnnxModelInfo): PolicySpec {
  const at = `policies.${name}`;
  const modelInputs = new Map(model.inputs.map((t) => [t.name, t]));
  const modelOutputs = new Map(model.outputs.map((t) => [t.name, t]));
  for (const key of Object.keys(settings.inputs)) {
    if (!modelInputs.has(key))
      throw new ManifestError(
        `${at}.inputs.${key}: the model has no input "${key}" (inputs: ${[...modelInputs.keys()].join(', ')})`,
      );
  }
  for (const key of Object.keys(settings.outputs)) {
    if (!modelOutputs.has(key))
      throw new ManifestError(
        `${at}.outputs.${key}: the model has no output "${key}" (outputs: ${[...modelOutputs.keys()].join(', ')})`,
      );
  }
  const outputs = model.outputs.map((t): OutputSpec => {
    const cfg = settings.outputs[t.name];
    const last = t.shape[t.shape.length - 1];
    return {
      name: t.name,
      shape: t.shape,
      dim: typeof last === 'number' && last > 0 ? last : 1,
      unnormalize: cfg?.unnormalize,
      command: cfg?.command,
    };
  });
  const outputDim = new Map(outputs.map((o) => [o.name, o.dim]));
  const inputs = model.inputs.map((t) =>
    resolveInput(`${at}.inputs.${t.name}`, t, settings.inputs[t.name], outputDim, modelOutputs),
  );
  return { name, settings, inputs, outputs, metadata: model.metadata };
}

function resolveInput(
  at: string,
  tensor: TensorInfo,
  cfg: InputSettings | undefined,
  outputDim: Map<string, number>,
  modelOutputs: Map<string, TensorInfo>,
): InputSpec {
  const shape = concrete(tensor.shape);
  const size = shape.reduce((a, b) => a * b, 1);
  if (cfg?.image) {
    if (cfg.sources.length > 0 || cfg.recurrent !== undefined)
      throw new ManifestError(`${at}: an image input takes no sources or recurrent`);
    let image: ImageInputSpec;
    try {
      image = resolveImageInput(`${at}.image`, tensor, cfg.image);
    } catch (error) {
      if (error instanceof ImageInputError) throw new ManifestError(error.message);
      throw error;
    }
    if (image.dtype === 'uint8' && cfg.normalize && cfg.normalize.mode !== 'identity')
      throw new ManifestError(
        `${at}.normalize: the model input is uint8 and is fed the frame as it is; remove normalize`,
      );
    return {
      name: tensor.name,
      shape,
      size,
      recurrent: undefined,
      sources: [],
      normalize: cfg.normalize,
      dtype: image.dtype,
      image,
    };
  }
  if (tensor.dtype !== 'float32')
    throw new ManifestError(
      `${at}: the model input is ${tensor.dtype}; inputs are float32, or float32 or uint8 when a camera feeds them (image:)`,
    );
  const recurrent = cfg?.recurrent;
  if (recurrent !== undefined) {
    const out = modelOutputs.get(recurrent);
    if (!out) throw new ManifestError(`${at}.recurrent: the model has no output "${recurrent}"`);
    const outSize = concrete(out.shape).reduce((a, b) => a * b, 1);
    if (outSize !== size)
      throw new ManifestError(`${at}.recurrent: output ${recurrent} has ${outSize} elements, the input ${size}`);
    if (cfg && cfg.sources.length > 0) throw new ManifestError(`${at}: a recurrent input takes no sources`);
    return { name: tensor.name, shape, size, recurrent, sources: [], normalize: undefined, dtype: 'float32' };
  }
  const sources = cfg?.sources ?? [];
  // No sources: the input is fed whole by a caller (a query, a replay); a control loop can't run it.
  if (sources.length === 0)
    return {
      name: tensor.name,
      shape,
      size,
      recurrent: undefined,
      sources: [],
      normalize: cfg?.normalize,
      dtype: 'float32',
    };
  const lengths = sources.map((s, i): number | undefined => {
    const where = `${at}.sources[${i}]`;
    const kinds = [s.topic !== undefined, s.constant !== undefined, s.previous_output !== undefined].filter(
      Boolean,
    ).length;
    if (kinds !== 1) throw new ManifestError(`${where}: give exactly one of topic, constant, previous_output`);
    if (s.constant) return s.constant.length;
    if (s.previous_output !== undefined) {
      const dim = outputDim.get(s.previous_output);
      if (dim === undefined)
        throw new ManifestError(`${where}.previous_output: the model has no output "${s.previous_output}"`);
      // One step's output, as long as one action: a chunk's K actions would not fit the slice (recurrent takes a whole
      // tensor).
      const out = modelOutputs.get(s.previous_output)!;
      const actions = concrete(out.shape).reduce((a, b) => a * b, 1) / dim;
      if (actions !== 1) {
        throw new ManifestError(
          `${where}.previous_output: output ${s.previous_output} ${JSON.stringify(out.shape)} holds ${actions} actions of ${dim}; previous_output takes an output of one (feed a whole tensor back with recurrent)`,
        );
      }
      return dim;
    }
    return s.joints?.length ?? s.indices?.length ?? s.fields?.length ?? s.length;
  });
  const unknown = lengths.filter((l) => l === undefined).length;
  const known = lengths.reduce<number>((a, l) => a + (l ?? 0), 0);
  if (unknown > 1)
    throw new ManifestError(`${at}: ${unknown} sources have no known length; give indices or length to all but one`);
  if (unknown === 1 && known >= size)
    throw new ManifestError(`${at}: the sources of known length already fill the ${size} elements of the tensor`);
  if (unknown === 0 && known !== size) {
    throw new ManifestError(
      `${at}: the sources give ${known} elements, the model input ${tensor.name} ${JSON.stringify(tensor.shape)} takes ${size}`,
    );
  }
  let offset = 0;
  const placed = sources.map((s, i): PlacedSource => {
    const length = lengths[i] ?? size - known;
    const kind = s.topic !== undefined ? 'topic' : s.constant !== undefined ? 'constant' : 'previous_output';
    const p = { settings: s, kind, offset, length } as const;
    offset += length;
    return p;
  });
  return {
    name: tensor.name,
    shape,
    size,
    recurrent: undefined,
    sources: placed,
    normalize: cfg?.normalize,
    dtype: 'float32',
  };
}

/** The output whose actions drive the robot: the named one, or the only one with a command, or the first. */
export function actionOutput(spec: PolicySpec, name?: string): OutputSpec {
  if (name !== undefined) {
    const o = spec.outputs.find((x) => x.name === name);
    if (!o)
      throw new ManifestError(
        `policy ${spec.name} has no output "${name}" (outputs: ${spec.outputs.map((x) => x.name).join(', ')})`,
      );
    return o;
  }
  const withCommand = spec.outputs.filter((o) => o.command);
  if (withCommand.length > 1)
    throw new ManifestError(`policy ${spec.name} has several outputs with a command; name the loop's output`);
  return withCommand[0] ?? spec.outputs[0]!;
}
