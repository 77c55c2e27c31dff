import type { PolicySettings } from '../config/index.ts';
import { policyNormalizers, type Normalizer } from './normalization.ts';
import { readOnnxModelInfo } from './onnx-model-file.ts';
import { modelFile } from './remote/remote-spec.ts';
import { openOnnxSession, ort } from './onnx-session.ts';
import { resolvePolicySpec, type InputSpec, type PolicySpec } from './policy-spec.ts';
import type { Frame } from './vision/frame.ts';
import { frameToInput } from './vision/frame-tensor.ts';

export type PolicyInputErrorCode = 'missing_input' | 'unknown_input' | 'bad_shape' | 'bad_dtype' | 'not_finite';

/** Input a caller got wrong; the message says which input and what the model expects. */
export class PolicyInputError extends Error {
  override name = 'PolicyInputError';
  readonly code: PolicyInputErrorCode;
  constructor(code: PolicyInputErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** A step's inputs by model input name: float32, or uint8 for a uint8 image input. */
export type PolicyInputs = Record<string, Float32Array | Uint8Array>;

/**
 * What `run` takes: PolicyInputs, or for an image input a decoded frame of the input's size (image-decode.ts), which
 * the run puts into the input itself (frame-tensor.ts), on the thread the model runs on.
 */
export type StepInputs = Readonly<Record<string, Float32Array | Uint8Array | Frame>>;

/** One output of a step: raw values (unnormalized) and the actual shape the model returned. */
export interface PolicyOutput {
  data: Float32Array;
  shape: number[];
  /** Actions in the output (the second-to-last dimension of a rank >= 3 output; else 1). */
  chunk: number;
  dim: number;
}

/**
 * Runs one ONNX policy: checks the caller's inputs, normalizes them, feeds recurrent inputs from the
 * previous step's outputs, runs the session and unnormalizes the outputs. Callers must await one `run`
 * before the next: recurrent state makes steps ordered.
 */
export class PolicyRunner {
  readonly spec: PolicySpec;
  #session: ort.InferenceSession;
  #normalizers: Map<string, Normalizer>;
  #unnormalizers: Map<string, Normalizer>;
  /** Raw model outputs of the previous step, for recurrent inputs and previous_output sources. */
  #previous = new Map<string, Float32Array>();
  readonly #known: Set<string>;
  /**
   * Each input's tensor, made once over a buffer that every run fills in place: a loop runs the policy 200
   * times a second, and what a run allocates its thread's GC collects, in a pause that can miss a tick.
   */
  readonly #inputBuffers: Map<string, Float32Array | Uint8Array>;
  readonly #feeds: Record<string, ort.Tensor> = {};

  private constructor(spec: PolicySpec, session: ort.InferenceSession) {
    this.spec = spec;
    this.#session = session;
    const { normalizers, unnormalizers } = policyNormalizers(spec);
    this.#normalizers = normalizers;
    this.#unnormalizers = unnormalizers;
    this.#known = new Set(spec.inputs.map((i) => i.name));
    this.#inputBuffers = new Map(
      spec.inputs.map((i) => [i.name, i.dtype === 'uint8' ? new Uint8Array(i.size) : new Float32Array(i.size)]),
    );
    for (const input of spec.inputs) {
      const buffer = this.#inputBuffers.get(input.name)!;
      this.#feeds[input.name] =
        buffer instanceof Uint8Array
          ? new ort.Tensor('uint8', buffer, input.shape)
          : new ort.Tensor('float32', buffer, input.shape);
    }
  }

  static async open(name: string, settings: PolicySettings): Promise<PolicyRunner> {
    const model = modelFile(name, settings);
    const spec = resolvePolicySpec(name, settings, readOnnxModelInfo(model));
    const session = await openOnnxSession(model, { provider: settings.provider, threads: settings.threads });
    return new PolicyRunner(spec, session);
  }

  /** Inputs a caller must give (all but the recurrent ones). */
  get callerInputs(): { name: string; shape: number[]; size: number; dtype: 'float32' | 'uint8' }[] {
    return this.spec.inputs
      .filter((i) => i.recurrent === undefined)
      .map(({ name, shape, size, dtype }) => ({ name, shape, size, dtype }));
  }

  /**
   * The previous step's raw output, or zeros of `size` before the first step (and after a step with a non-finite
   * output).
   */
  previousOutput(name: string, size: number): Float32Array {
    return this.#previous.get(name) ?? new Float32Array(size);
  }

  /** Forgets recurrent state (a new episode). */
  reset(): void {
    this.#previous.clear();
  }

  /**
   * Runs the model once on zeros and forgets the step. A session's first run plans its memory and took 5 to
   * 9 ms (a loop's period is 5), so a loop pays it before its first tick. A model that fails on zeros only
   * leaves its first real run slow: the failure says nothing of real inputs, which the run reports itself.
   */
  async warmUp(): Promise<void> {
    const zeros: PolicyInputs = {};
    for (const { name, size, dtype } of this.callerInputs)
      zeros[name] = dtype === 'uint8' ? new Uint8Array(size) : new Float32Array(size);
    try {
      await this.run(zeros);
    } catch {
      // See above: nothing to report here.
    }
    this.reset();
  }

  /**
   * One inference step. `inputs` holds raw (unnormalized) float32 values by model input name, flat, with
   * exactly as many elements as the input's shape (an image input: the frame in the model's layout, in [0, 1],
   * frame-tensor.ts; a uint8 one its bytes; or a Frame, see StepInputs). `state` may carry recurrent inputs
   * explicitly (a stateless caller, such as a query); otherwise they come from the previous step.
   */
  async run(
    inputs: StepInputs,
    state?: Record<string, Float32Array>,
    options: {
      /**
       * Inputs that are the same as in the previous run of this runner (a camera frame that has not changed): their
       * buffers already hold them normalized, so they are not copied, checked or normalized again.
       */
      unchanged?: ReadonlySet<string>;
    } = {},
  ): Promise<Record<string, PolicyOutput>> {
    const { unchanged } = options;
    const known = this.#known;
    for (const key in inputs) {
      if (!known.has(key))
        throw new PolicyInputError(
          'unknown_input',
          `policy ${this.spec.name} has no input "${key}" (inputs: ${[...known].join(', ')})`,
        );
    }
    const feeds = this.#feeds;
    for (const input of this.spec.inputs) {
      const values = this.#inputBuffers.get(input.name)!;
      if (input.recurrent !== undefined) {
        const given = state?.[input.name] ?? inputs[input.name];
        values.set(
          given
            ? checked(
                this.spec.name,
                input.name,
                asArray(this.spec.name, input, given),
                input.size,
                input.shape,
                'float32',
              )
            : this.previousOutput(input.recurrent, input.size),
        );
      } else {
        if (unchanged?.has(input.name)) continue;
        const given = inputs[input.name];
        if (!given)
          throw new PolicyInputError(
            'missing_input',
            `policy ${this.spec.name} needs input "${input.name}" (${input.dtype} ${JSON.stringify(input.shape)})`,
          );
        if (ArrayBuffer.isView(given))
          values.set(checked(this.spec.name, input.name, given, input.size, input.shape, input.dtype));
        else frameInto(this.spec.name, input, given, values);
        if (values instanceof Float32Array) this.#normalizers.get(input.name)!.normalize(values);
      }
    }
    const results = await this.#session.run(feeds);
    const out: Record<string, PolicyOutput> = {};
    let finite = true;
    for (const spec of this.spec.outputs) {
      const tensor = results[spec.name];
      if (!tensor || tensor.type !== 'float32')
        throw new Error(
          `policy ${this.spec.name}: output ${spec.name} is ${tensor ? tensor.type : 'missing'}, expected float32`,
        );
      const raw = tensor.data as Float32Array;
      finite &&= raw.every(Number.isFinite);
      const previous = this.#previous.get(spec.name);
      if (previous?.length === raw.length) previous.set(raw);
      else this.#previous.set(spec.name, raw.slice());
      const data = raw.slice();
      this.#unnormalizers.get(spec.name)!.unnormalize(data);
      const dims = tensor.dims.map(Number);
      const dim = dims[dims.length - 1] ?? 1;
      out[spec.name] = { data, shape: dims, chunk: dims.length >= 3 ? dims[dims.length - 2]! : 1, dim };
    }
    // A NaN or infinity fed back would live on: a previous_output input is refused as not finite at every step
    // after, a recurrent state stays NaN. The state is lost either way, so the next step starts over from zeros.
    if (!finite) this.#previous.clear();
    return out;
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}

/** A frame given for an input that takes a tensor. */
const notImage = (policy: string, input: InputSpec): PolicyInputError =>
  new PolicyInputError(
    'bad_dtype',
    `policy ${policy}: input "${input.name}" is not an image input; it takes ${input.dtype} ${JSON.stringify(input.shape)}`,
  );

/** A step's input that must be a tensor, not a frame. */
function asArray(
  policy: string,
  input: InputSpec,
  given: Float32Array | Uint8Array | Frame,
): Float32Array | Uint8Array {
  if (ArrayBuffer.isView(given)) return given;
  throw notImage(policy, input);
}

/**
 * A frame into its image input's buffer, with no copy before it: a frame of the input's size and channels, as
 * decodeFrame makes it. Its pixels are whole numbers, so there is nothing to check for finiteness.
 */
function frameInto(policy: string, input: InputSpec, frame: Frame, out: Float32Array | Uint8Array): void {
  const image = input.image;
  if (!image) throw notImage(policy, input);
  const { width, height, channels } = image;
  if (frame.width !== width || frame.height !== height || frame.channels !== channels)
    throw new PolicyInputError(
      'bad_shape',
      `policy ${policy}: input "${input.name}" was given a ${frame.width} x ${frame.height} frame of ${frame.channels} channels; it takes ${width} x ${height} x ${channels}`,
    );
  if (frame.data.length !== width * height * channels)
    throw new PolicyInputError(
      'bad_shape',
      `policy ${policy}: input "${input.name}" was given a frame of ${frame.data.length} values for ${width} x ${height} x ${channels}`,
    );
  if (frame.order === 'depth16' && out instanceof Uint8Array)
    throw new PolicyInputError(
      'bad_dtype',
      `policy ${policy}: input "${input.name}" is uint8; a 16-bit depth frame does not fit it`,
    );
  frameToInput(frame.data, frame.order, image, out);
}

function checked(
  policy: string,
  name: string,
  values: Float32Array | Uint8Array,
  size: number,
  shape: number[],
  dtype: 'float32' | 'uint8',
): Float32Array | Uint8Array {
  if (dtype === 'uint8' ? !(values instanceof Uint8Array) : !(values instanceof Float32Array))
    throw new PolicyInputError('bad_dtype', `policy ${policy}: input "${name}" must be ${dtype}`);
  if (values.length !== size) {
    throw new PolicyInputError(
      'bad_shape',
      `policy ${policy}: input "${name}" has ${values.length} elements; the model takes ${JSON.stringify(shape)} = ${size}`,
    );
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!))
      throw new PolicyInputError(
        'not_finite',
        `policy ${policy}: input "${name}" element ${i} is ${values[i]}; inputs must be finite`,
      );
  }
  return values;
}
