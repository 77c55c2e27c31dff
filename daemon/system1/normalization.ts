import { readFileSync } from 'node:fs';
import type { NormalizationSettings } from '../config/index.ts';
import { errorText } from '../util/index.ts';
import { parsePythonJson } from '../util/index.ts';
import type { PolicySpec } from './policy-spec.ts';

/**
 * Resolved statistics of one tensor, ready to apply. LeRobot's conventions: mean_std is (x - mean) / std,
 * min_max maps [min, max] to [-1, 1]. `epsilon` keeps a constant dimension (std 0) from dividing by zero.
 */
export interface Normalizer {
  readonly mode: 'mean_std' | 'min_max' | 'identity' | 'imagenet';
  /** Raw to model space, in place. */
  normalize(values: Float32Array): void;
  /** Model to raw space, in place; `values` may hold several actions of `dim` each (a chunk). */
  unnormalize(values: Float32Array): void;
}

export class NormalizationError extends Error {
  override name = 'NormalizationError';
}

const IDENTITY: Normalizer = { mode: 'identity', normalize: () => {}, unnormalize: () => {} };

/** ImageNet's per-channel statistics (RGB), which LeRobot and torchvision use for pretrained vision backbones. */
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/**
 * A channels-first image: the channel of element i is floor(i / stride) % dim. A normalizer is affine per
 * channel (y = a x + b), so a and b are read off the element-wise one once, at start, and each plane is a loop.
 */
function perChannel(inner: Normalizer, dim: number, stride: number): Normalizer {
  const affine = (f: (v: Float32Array) => void): { a: Float32Array; b: Float32Array } => {
    const b = new Float32Array(dim);
    f(b);
    const a = new Float32Array(dim).fill(1);
    f(a);
    for (let c = 0; c < dim; c++) a[c] = a[c]! - b[c]!;
    return { a, b };
  };
  const apply = ({ a, b }: { a: Float32Array; b: Float32Array }, values: Float32Array): void => {
    for (let start = 0, c = 0; start < values.length; start += stride, c = (c + 1) % dim) {
      const scale = a[c]!;
      const add = b[c]!;
      const end = Math.min(start + stride, values.length);
      for (let i = start; i < end; i++) values[i] = values[i]! * scale + add;
    }
  };
  const forward = affine(inner.normalize);
  const back = affine(inner.unnormalize);
  return { mode: inner.mode, normalize: (v) => apply(forward, v), unnormalize: (v) => apply(back, v) };
}

/** Numbers from a metadata_props value: comma or whitespace separated. */
export function parseNumberList(text: string, what: string): number[] {
  const parts = text.split(/[\s,]+/).filter((p) => p.length > 0);
  const values = parts.map(Number);
  const bad = parts.findIndex((p, i) => !Number.isFinite(values[i]));
  if (bad >= 0) throw new NormalizationError(`${what}: ${JSON.stringify(parts[bad])} is not a number`);
  return values;
}

/**
 * Reads `feature`'s statistics from a LeRobot stats.json ({feature: {mean, std, min, max, ...}}). `where` is the
 * normalize key that names the file, so an error names the key to fix (`<where>.stats` or `<where>.feature`).
 */
export function readStatsFile(path: string, feature: string, where: string): Record<string, number[]> {
  let stats: unknown;
  try {
    // LeRobot writes it with Python's json: NaN and Infinity as bare tokens.
    stats = parsePythonJson(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new NormalizationError(`${where}.stats: cannot read stats file ${path}: ${errorText(error)}`);
  }
  const entry = (stats as Record<string, unknown>)[feature];
  if (entry === null || typeof entry !== 'object') {
    const known = stats && typeof stats === 'object' ? Object.keys(stats).join(', ') : '';
    throw new NormalizationError(`${where}.feature: stats file ${path} has no feature "${feature}" (it has: ${known})`);
  }
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
    // Image stats are nested [[[..]]]; a flat vector is what a state or action feature has.
    const flat = Array.isArray(v) ? (v.flat(3) as unknown[]) : [v];
    if (flat.every((x) => typeof x === 'number')) out[k] = flat as number[];
  }
  return out;
}

/**
 * Builds a normalizer for a tensor of `dim` elements per step. Statistics are looked up in order: the
 * manifest's own numbers, the stats file, the model's metadata_props. A length mismatch is an error that
 * names where the statistic came from.
 */
export function createNormalizer(
  settings: NormalizationSettings | undefined,
  dim: number,
  metadata: Record<string, string>,
  where: string,
  stride = 1,
): Normalizer {
  if (!settings || settings.mode === 'identity') return IDENTITY;
  if (settings.mode === 'imagenet') {
    if (dim !== 3)
      throw new NormalizationError(`${where}: mode imagenet is for 3-channel images; this input has ${dim}`);
    return createNormalizer({ ...settings, mode: 'mean_std', ...IMAGENET }, dim, metadata, where, stride);
  }
  if (stride > 1) return perChannel(createNormalizer(settings, dim, metadata, where), dim, stride);
  const { mode, epsilon } = settings;
  const fromFile = settings.stats ? readStatsFile(settings.stats, settings.feature ?? 'observation.state', where) : {};
  const pick = (key: 'mean' | 'std' | 'min' | 'max'): Float32Array => {
    let values: number[] | undefined = settings[key];
    let origin = `${where}.${key}`;
    if (!values && fromFile[key]) {
      values = fromFile[key];
      origin = `${settings.stats} [${settings.feature ?? 'observation.state'}].${key}`;
    }
    const metaKey = settings.metadata?.[key];
    if (!values && metaKey) {
      const text = metadata[metaKey];
      if (text === undefined)
        throw new NormalizationError(
          `${where}: the model has no metadata_props key "${metaKey}" (it has: ${Object.keys(metadata).join(', ') || 'none'})`,
        );
      values = parseNumberList(text, `metadata_props ${metaKey}`);
      origin = `metadata_props ${metaKey}`;
    }
    if (!values)
      throw new NormalizationError(
        `${where}: mode ${mode} needs ${key}; give it inline, in a stats file (stats + feature) or as a metadata_props key`,
      );
    if (values.length === 1 && dim > 1) values = new Array<number>(dim).fill(values[0]!);
    if (values.length !== dim)
      throw new NormalizationError(
        `${where}: ${key} from ${origin} has ${values.length} values, the tensor has ${dim} per step`,
      );
    return Float32Array.from(values);
  };
  if (mode === 'mean_std') {
    const mean = pick('mean');
    const std = pick('std');
    const inv = std.map((s) => 1 / (s + epsilon));
    return {
      mode,
      normalize: (v) => {
        for (let i = 0; i < v.length; i++) v[i] = (v[i]! - mean[i % dim]!) * inv[i % dim]!;
      },
      unnormalize: (v) => {
        for (let i = 0; i < v.length; i++) v[i] = v[i]! * (std[i % dim]! + epsilon) + mean[i % dim]!;
      },
    };
  }
  const min = pick('min');
  const max = pick('max');
  const range = max.map((hi, i) => hi - min[i]! + epsilon);
  return {
    mode,
    normalize: (v) => {
      for (let i = 0; i < v.length; i++) v[i] = ((v[i]! - min[i % dim]!) / range[i % dim]!) * 2 - 1;
    },
    unnormalize: (v) => {
      for (let i = 0; i < v.length; i++) v[i] = ((v[i]! + 1) / 2) * range[i % dim]! + min[i % dim]!;
    },
  };
}

/**
 * Every normalizer of a policy, by input and output name, as its runner applies them: an image per channel (its planes,
 * channels first, or its last dimension), any other tensor per element of its last dimension.
 */
export function policyNormalizers(spec: PolicySpec): {
  normalizers: Map<string, Normalizer>;
  unnormalizers: Map<string, Normalizer>;
} {
  const normalizers = new Map(
    spec.inputs.map((i) => {
      const where = `policies.${spec.name}.inputs.${i.name}.normalize`;
      if (i.image) {
        const { channels, layout, height, width } = i.image;
        const stride = layout === 'nchw' ? height * width : 1;
        return [i.name, createNormalizer(i.normalize, channels, spec.metadata, where, stride)];
      }
      return [i.name, createNormalizer(i.normalize, i.shape[i.shape.length - 1] ?? 1, spec.metadata, where)];
    }),
  );
  const unnormalizers = new Map(
    spec.outputs.map((o) => [
      o.name,
      createNormalizer(o.unnormalize, o.dim, spec.metadata, `policies.${spec.name}.outputs.${o.name}.unnormalize`),
    ]),
  );
  return { normalizers, unnormalizers };
}
